"""A real engine for the docker sandbox's tests: Debian's podman serving the Docker Engine API on a
Unix socket, and a small image made on the spot (no registry can be reached from here).

Each pytest process runs its own `podman system service`, rootful, with its storage (vfs), its
runtime state and its configuration in a directory of its own. It runs in private mount, network
and PID namespaces: what rootful podman writes outside that directory (/run/containers, /run/netns,
/run/runc, /var/lib/containers/cache, /dev/shm/libpod_lock, the `podman0` bridge, NAT rules and
ip_forward) stays there, and nothing it started outlives it or the test process. Only its cgroups
are the host's: each container's is removed with it, their parent (libpod_parent) stays, empty.

The image holds busybox, bash, git and Debian's minimal Python, copied from this machine with the
libraries they link: enough for the shell steps the tests run, and for `sleep infinity`, which
holds each sandbox container up.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.errors import DockerException

PACKAGES = "podman runc busybox-static python3-minimal"  # what `./dev test` installs for these
IMAGE_REPOSITORY = "shipyard-test-rootfs"
_START_TIMEOUT_S = 30.0
_PR_SET_PDEATHSIG = 1  # prctl(2)

# Rootful podman with no systemd: cgroupfs, events in a file and runc, said rather than left to
# podman's fallbacks. vfs storage needs no kernel support beyond plain directories. Fixed ulimits:
# otherwise root's containers get podman's own hard limits, whatever this machine allows.
_CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
tmp_dir = "{root}/tmp"
image_copy_tmp_dir = "{root}/tmp"
static_dir = "{root}/storage/libpod"
volume_path = "{root}/storage/volumes"

[network]
network_config_dir = "{root}/networks"
"""
_STORAGE_CONF = """\
[storage]
driver = "vfs"
graphroot = "{root}/storage"
runroot = "{root}/run"
"""
# Run inside the new namespaces: the paths rootful podman writes to whatever its configuration
# says become a private tmpfs (/dev/shm) or an overlay whose upper half is in `root`.
_LAUNCH = """\
set -e
mount -n -t tmpfs tmpfs /dev/shm
for dir in /run /var/lib; do
  half="{root}/ns/$(echo "$dir" | tr / _)"
  mkdir -p "$half.up" "$half.work"
  mount -n -t overlay overlay -o "lowerdir=$dir,upperdir=$half.up,workdir=$half.work" "$dir"
done
exec podman system service --time=0 "unix://{root}/podman.sock"
"""


@dataclass(frozen=True)
class Podman:
    """A running service: `url` for Settings.docker_host, `image` for Settings.docker_image."""

    url: str
    image: str
    client: docker.DockerClient


def unavailable() -> str | None:
    """Why podman cannot run here, or None."""
    missing = [
        name for name in ("podman", "runc", "busybox", "unshare", "dpkg") if shutil.which(name) is None
    ]
    missing += [] if os.path.exists("/usr/bin/python3") else ["/usr/bin/python3"]
    if missing:
        return (
            f"not found: {', '.join(missing)}. The docker sandbox's tests run it against podman;"
            f" `./dev test` installs what that needs (apt-get install {PACKAGES})"
        )
    if os.geteuid() != 0:
        return "the docker sandbox's tests run podman as root (in namespaces of its own): run them as root"
    return None


@contextlib.contextmanager
def running_podman(root: Path) -> Iterator[Podman]:
    """Start the service in `root`, import the image; at the end remove every container, stop it
    (its PID namespace takes everything it started along) and delete its storage."""
    for name, text in (("containers.conf", _CONTAINERS_CONF), ("storage.conf", _STORAGE_CONF)):
        (root / name).write_text(text.format(root=root))
    (root / "tmp").mkdir()
    env = {
        **os.environ,
        "CONTAINERS_CONF": str(root / "containers.conf"),
        "CONTAINERS_STORAGE_CONF": str(root / "storage.conf"),
        "XDG_RUNTIME_DIR": str(root / "tmp"),
        "XDG_CONFIG_HOME": str(root / "config"),
        "XDG_DATA_HOME": str(root / "data"),
        "TMPDIR": str(root / "tmp"),
    }
    namespaces = ["--mount", "--net", "--pid", "--fork", "--kill-child", "--mount-proc"]
    argv = ["unshare", *namespaces, "--propagation", "private", "sh", "-c", _LAUNCH.format(root=root)]
    with (root / "service.log").open("wb") as log:
        service = subprocess.Popen(  # a session of its own: Ctrl-C reaches pytest, which stops it
            argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=_die_with_parent,
        )  # fmt: skip
    try:
        client = _answering(f"unix://{root}/podman.sock", service, root / "service.log")
        image = _import_image(client, root)
        yield Podman(url=f"unix://{root}/podman.sock", image=image, client=client)
        for container in client.containers.list(all=True):
            container.remove(force=True)
        client.close()
    finally:
        _stop(service)
        shutil.rmtree(root / "storage", ignore_errors=True)


def _die_with_parent() -> None:
    """In the child, before unshare runs: SIGKILL when the test process dies, however it dies
    (unshare's --kill-child then takes podman, and so the namespaces, along)."""
    ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _stop(service: subprocess.Popen[bytes]) -> None:
    """Kill the namespace's first process (podman), which ends every other one in it; unshare then
    reaps it and exits. Killing unshare instead would do (--kill-child) but leave podman a zombie."""
    children = Path(f"/proc/{service.pid}/task/{service.pid}/children")
    with contextlib.suppress(OSError, ValueError):
        for pid in children.read_text().split():
            os.kill(int(pid), signal.SIGKILL)
    try:
        service.wait(timeout=10)
    except subprocess.TimeoutExpired:
        service.kill()
        service.wait()


def _answering(url: str, service: subprocess.Popen[bytes], log: Path) -> docker.DockerClient:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while True:
        if service.poll() is not None:
            raise RuntimeError(
                f"podman system service exited {service.returncode}: {log.read_text()[-2000:]}"
            )
        try:
            return docker.DockerClient(base_url=url, timeout=60)
        except DockerException:
            if time.monotonic() > deadline:
                raise RuntimeError(f"podman did not answer on {url}: {log.read_text()[-2000:]}") from None
            time.sleep(0.05)


def _import_image(client: docker.DockerClient, root: Path) -> str:
    tarball = root / "rootfs.tar"
    tarball.write_bytes(rootfs())
    tag = hashlib.sha256(tarball.read_bytes()).hexdigest()[:12]
    answer = client.api.import_image_from_file(str(tarball), repository=IMAGE_REPOSITORY, tag=tag)
    tarball.unlink()
    client.images.get(json.loads(answer)["id"]).tag(IMAGE_REPOSITORY, tag)  # podman ignores `tag` above
    return f"{IMAGE_REPOSITORY}:{tag}"


def rootfs() -> bytes:
    """A root file system as a tar: this machine's busybox (every applet), bash, git and minimal
    Python, with the libraries they link, each at the path it has here."""
    python = os.path.realpath("/usr/bin/python3")  # /usr/bin/python3.11
    programs = [shutil.which(name) or name for name in ("busybox", "bash", "git")] + [python]
    stdlib = _debian_files(f"{Path(python).name}-minimal", f"lib{Path(python).name}-minimal")
    files = [*programs, "/usr/bin/python3", *stdlib]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        image = _Image(tar)
        for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            if os.path.islink(f"/{top}"):  # merged /usr: keep the same links
                image.link(top, os.readlink(f"/{top}"))
        for directory, mode in (("tmp", 0o1777), ("root", 0o700), ("workspace", 0o755), ("etc", 0o755)):
            image.directory(directory, mode)
        image.text("etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
        image.text("etc/group", "root:x:0:\n")
        for path in [*files, *(lib for program in programs for lib in _linked(program))]:
            image.copy(path)
        busybox = _canonical(programs[0])
        for applet in _run("busybox", "--list-full").split():
            image.link(_canonical(f"/{applet}").lstrip("/"), busybox)
    return buffer.getvalue()


class _Image:
    """Writes members into the tar once each, parents first, owned by root."""

    def __init__(self, tar: tarfile.TarFile) -> None:
        self._tar, self._names = tar, set[str]()

    def directory(self, name: str, mode: int = 0o755) -> None:
        if name in self._names or name in ("", "."):
            return
        self.directory(os.path.dirname(name))
        self._names.add(name)
        self._tar.addfile(self._info(name, tarfile.DIRTYPE, mode))

    def link(self, name: str, target: str) -> None:
        if name in self._names:
            return
        self.directory(os.path.dirname(name))
        self._names.add(name)
        info = self._info(name, tarfile.SYMTYPE, 0o777)
        info.linkname = target
        self._tar.addfile(info)

    def text(self, name: str, text: str) -> None:
        data = text.encode()
        info = self._info(name, tarfile.REGTYPE, 0o644)
        info.size = len(data)
        self._names.add(name)
        self._tar.addfile(info, io.BytesIO(data))

    def copy(self, path: str) -> None:
        """A file of this machine at its canonical path; a symlink as a link, and what it points at."""
        path = _canonical(path)
        name = path.lstrip("/")
        if name in self._names or not os.path.lexists(path) or os.path.isdir(path):
            return
        if os.path.islink(path):
            self.link(name, os.readlink(path))
            self.copy(os.path.join(os.path.dirname(path), os.readlink(path)))
            return
        self.directory(os.path.dirname(name))
        self._names.add(name)
        info = self._tar.gettarinfo(path, arcname=name)
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        with open(path, "rb") as source:
            self._tar.addfile(info, source)

    @staticmethod
    def _info(name: str, kind: bytes, mode: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.type, info.mode = kind, mode
        return info


def _canonical(path: str) -> str:
    """`path` with its directory resolved (/lib64/x → /usr/lib64/x under merged /usr), its name kept."""
    return os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))


def _linked(program: str) -> list[str]:
    """The shared libraries `program` loads (none for a static one)."""
    found = subprocess.run(["ldd", program], capture_output=True, text=True, check=False)
    return [word for line in found.stdout.splitlines() for word in line.split() if word.startswith("/")]


def _debian_files(*packages: str) -> list[str]:
    listed = _run("dpkg", "-L", *packages).splitlines()
    return [path for path in listed if not path.startswith("/usr/share/") and os.path.isfile(path)]


def _run(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout
