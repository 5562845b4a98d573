"""The scripted model server's API dialects, one module each (scripted_model.py holds the script)."""
