"""SAM's local emulator for `make sam-local` and `make sam-run`: `sam build` of template.yaml, the
image `sam local` runs the function in, the derived template and `--env-vars` file, `sam local
invoke`, and `sam local start-api` as a relaystack.Service.

The function reaches moto (on the host) as host.docker.internal (`--add-host
host.docker.internal:host-gateway`), so moto listens on the Docker bridge's address: the host side of
the network SAM's containers are on (`--docker-network host` is ignored by SAM), and no wider.

Images: the real Lambda base image (public.ecr.aws/lambda/provided:al2023) when it is here or can be
pulled; otherwise a stand-in built here under a neutral name: Debian's static busybox, the host's
glibc libraries that the bootstrap needs, and a CA bundle. SAM adds its runtime interface emulator
(/var/rapid/aws-lambda-rie) on top of either and runs it as the entrypoint; the emulator starts
/var/task/bootstrap, the mounted build output. The stand-in cannot catch glibc drift (its glibc is
this machine's): scripts/glibc_check.py in `make package-check` does.

sam itself runs without any AWS settings or credentials of the user's (it would look them up and
hand them to the container); the function gets fake ones through --env-vars.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import shutil
import socket
import struct
import subprocess
import tarfile
import time
from pathlib import Path

import requests

import relaystack as stack

# RUN_DIR (default .run) as for scripts/run-local: each run directory has its own build, so the
# containers of one (found by what they mount) are never another's.
SAM_DIR = Path(os.environ.get("RUN_DIR") or stack.ROOT / ".run").resolve() / "sam"
BUILD_DIR = SAM_DIR / "build"
LOCAL_TEMPLATE = SAM_DIR / "template.yaml"
LOGICAL_ID = "AlertRelayFunction"
ARCHITECTURE = "x86_64"  # what this machine and CI run; the deployed default stays arm64
PLATFORM = {"x86_64": "linux/amd64", "arm64": "linux/arm64"}[ARCHITECTURE]
PARAMETERS = [f"Architecture={ARCHITECTURE}"]
ECR_IMAGE = "public.ecr.aws/lambda/provided:al2023"
STANDIN_REPO = "alert-relay-lambda-standin"
STANDIN_IMAGE = f"{STANDIN_REPO}:al2023"
STANDIN_LABEL = "alert-relay.standin-digest"
# Declared only in the derived template (scripts/local-template), filled from --env-vars.
# ATLAS_API_CLIENT_SECRET: the stand-in Atlas Admin API's fake secret under make sam-run (deployed,
# the secret comes from Secrets Manager: ATLAS_API_CLIENT_SECRET_ARN).
LOCAL_VARIABLES = ["AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "ATLAS_API_CLIENT_SECRET"]
# The fake signing secrets --env-vars passes as plain variables (<P>_WEBHOOK_SECRETS, …). Deployed,
# template.yaml keeps them in Secrets Manager and gives the function only <P>_WEBHOOK_SECRETS_ARN,
# which the derived template blanks (the secret is a resource of the stack, and `sam local` has no
# Secrets Manager): so they too are declared in the derived template only.
SECRETS_FILE = stack.EVENTS / "test.env"
HOST_ALIAS = "host.docker.internal"


class SamError(RuntimeError):
    pass


def docker(*args: str, check: bool = True, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(["docker", *args], capture_output=True, timeout=timeout, **kwargs)
    if check and done.returncode != 0:
        stderr = done.stderr.decode(errors="replace") if isinstance(done.stderr, bytes) else done.stderr
        raise SamError(f"docker {' '.join(args[:2])} failed: {stderr.strip()}")
    return done


def docker_unavailable() -> str | None:
    """Why `docker info` fails, or None when Docker works."""
    if shutil.which("docker") is None:
        return "there is no docker command"
    try:
        done = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return "`docker info` did not answer within 30 s"
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        return f"`docker info` fails: {lines[-1].strip() if lines else 'no daemon'}"
    return None


def bridge_address() -> str:
    """The host's address on Docker's default bridge, where host-gateway points."""
    options = json.loads(docker("network", "inspect", "bridge", "--format", "{{json .Options}}").stdout or "{}")
    interface = (options or {}).get("com.docker.network.bridge.name", "docker0")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            packed = fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", interface[:15].encode()))  # SIOCGIFADDR
        except OSError as error:
            raise SamError(f"no IPv4 address on Docker's bridge interface {interface}: {error}") from None
    return socket.inet_ntoa(packed[20:24])


# ---------------------------------------------------------------- images


def lambda_image(bootstrap: Path, say=print) -> str:
    """The image to give `sam local --invoke-image`: the real base image when it is here or can be
    pulled, else the stand-in. Says which."""
    present = docker("image", "inspect", ECR_IMAGE, check=False).returncode == 0
    if not present:
        pulled = docker("pull", "--platform", PLATFORM, ECR_IMAGE, check=False, timeout=600)
        present = pulled.returncode == 0
        if not present:
            reason = pulled.stderr.decode(errors="replace").strip().splitlines()
            say(f"{ECR_IMAGE} cannot be pulled ({reason[-1] if reason else 'no reason given'})")
    if present:
        say(f"Lambda image: {ECR_IMAGE}, the real base image")
        return ECR_IMAGE
    image = standin_image(bootstrap)
    say(f"Lambda image: {image}, a stand-in built here (busybox-static, this machine's glibc, CA bundle)")
    return image


def is_static(path: Path) -> bool:
    """An ELF executable without a program interpreter (PT_INTERP)."""
    data = path.read_bytes()[:65536]
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:  # 64-bit little-endian only
        return False
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        p_type, = struct.unpack_from("<I", data, phoff + i * phentsize)
        if p_type == 3:
            return False
    return True


def static_busybox() -> Path:
    """Debian's busybox-static: installed, or unpacked here from `apt-get download` (no root needed)."""
    unpacked = SAM_DIR / "busybox-static" / "bin" / "busybox"
    for candidate in (Path("/bin/busybox"), Path("/usr/bin/busybox"), unpacked):
        if candidate.is_file() and is_static(candidate.resolve()):
            return candidate.resolve()
    debs = SAM_DIR / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    for deb in debs.glob("busybox-static_*.deb"):
        deb.unlink()
    done = subprocess.run(["apt-get", "download", "busybox-static"], cwd=debs, capture_output=True, text=True)
    found = list(debs.glob("busybox-static_*.deb"))
    if done.returncode != 0 or not found:
        raise SamError(
            "the stand-in image needs a static busybox: install Debian's busybox-static package "
            f"(apt-get download busybox-static said: {done.stderr.strip() or done.returncode})"
        )
    subprocess.run(["dpkg-deb", "-x", str(found[0]), str(SAM_DIR / "busybox-static")], check=True)
    return unpacked


def shared_libraries(binary: Path) -> list[Path]:
    """The paths the dynamic loader resolves for `binary` here (`ldd`), the loader included."""
    done = subprocess.run(["ldd", str(binary)], capture_output=True, text=True)
    if done.returncode != 0:
        raise SamError(f"ldd {binary} failed: {done.stderr.strip() or done.stdout.strip()}")
    paths = []
    for line in done.stdout.splitlines():
        words = line.split()
        path = words[2] if "=>" in words and len(words) > 2 else words[0] if words else ""
        if path.startswith("/"):
            paths.append(Path(path))
    return paths


def ca_bundle() -> Path:
    for candidate in ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"):
        if Path(candidate).is_file():
            return Path(candidate)
    import certifi  # from the venv (requests brings it)

    return Path(certifi.where())


def standin_rootfs(bootstrap: Path) -> bytes:
    """A reproducible tarball of the stand-in's file system."""
    busybox = static_busybox()
    applets = subprocess.run([str(busybox), "--list-full"], capture_output=True, text=True, check=True).stdout.split()
    entries: dict[str, tuple[str, bytes | str, int]] = {}  # path -> (kind, content or link target, mode)
    for directory in ("bin", "sbin", "usr/bin", "usr/sbin", "lib64", "etc/ssl/certs", "etc/pki/tls/certs",
                      "var/task", "var/runtime", "var/rapid", "opt", "tmp"):
        entries[directory] = ("dir", "", 0o1777 if directory == "tmp" else 0o755)
    entries["bin/busybox"] = ("file", busybox.read_bytes(), 0o755)
    for applet in applets:
        if applet != "bin/busybox":
            entries.setdefault(applet, ("link", "/bin/busybox", 0o777))
    for library in shared_libraries(bootstrap):
        relative = str(library).lstrip("/")
        parent = str(Path(relative).parent)
        entries.setdefault(parent, ("dir", "", 0o755))
        entries[relative] = ("file", library.resolve().read_bytes(), 0o755)
    entries["etc/pki/tls/certs/ca-bundle.crt"] = ("file", ca_bundle().read_bytes(), 0o644)
    entries["etc/ssl/certs/ca-certificates.crt"] = ("link", "/etc/pki/tls/certs/ca-bundle.crt", 0o777)
    entries["etc/passwd"] = ("file", b"root:x:0:0:root:/root:/bin/sh\n", 0o644)
    entries["etc/group"] = ("file", b"root:x:0:\n", 0o644)

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for path in sorted(entries):
            kind, content, mode = entries[path]
            info = tarfile.TarInfo(path)
            info.mode, info.mtime, info.uid, info.gid = mode, 0, 0, 0
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif kind == "link":
                info.type, info.linkname = tarfile.SYMTYPE, content
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def standin_image(bootstrap: Path) -> str:
    """Imports the stand-in unless the same one is already there. A new one drops SAM's image
    derived from the old one (`<repo>:rapid-<arch>`), which SAM would otherwise keep using."""
    rootfs = standin_rootfs(bootstrap)
    digest = hashlib.sha256(rootfs).hexdigest()[:16]
    current = docker("image", "inspect", "--format", f'{{{{index .Config.Labels "{STANDIN_LABEL}"}}}}',
                     STANDIN_IMAGE, check=False)
    if current.returncode == 0 and current.stdout.decode().strip() == digest:
        return STANDIN_IMAGE
    docker("rmi", f"{STANDIN_REPO}:rapid-{ARCHITECTURE}", check=False)
    changes = [
        f"LABEL {STANDIN_LABEL}={digest}",
        "ENV PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
        "ENV LANG=C.UTF-8 TZ=:UTC LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime",
        "WORKDIR /var/task",
    ]
    args = [arg for change in changes for arg in ("--change", change)]
    docker("import", "--platform", PLATFORM, *args, "-", STANDIN_IMAGE, input=rootfs)
    return STANDIN_IMAGE


# ---------------------------------------------------------------- sam


def sam_env(declared: set[str] = frozenset()) -> dict[str, str]:
    """sam's own environment: none of the user's AWS settings or credentials (sam would pass them
    to the container, and with credentials it calls STS, seconds each time), and none of the
    variables the template declares (sam would pass those to the function too)."""
    empty = SAM_DIR / "no-aws-config"
    empty.parent.mkdir(parents=True, exist_ok=True)
    empty.touch()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in declared}
    env.update({
        "AWS_CONFIG_FILE": str(empty),
        "AWS_SHARED_CREDENTIALS_FILE": str(empty),
        "AWS_EC2_METADATA_DISABLED": "true",
        "SAM_CLI_TELEMETRY": "0",
    })
    return env


def build(say=print) -> Path:
    """`sam build` of template.yaml (cargo-lambda; reuses target/'s release build), then the derived
    template for `sam local` in .run/sam/template.yaml."""
    started = time.monotonic()
    done = subprocess.run(
        ["sam", "build", "--template-file", str(stack.ROOT / "template.yaml"), "--build-dir", str(BUILD_DIR),
         "--cache-dir", str(SAM_DIR / "cache"), "--parameter-overrides", *PARAMETERS, "--no-cached"],
        cwd=stack.ROOT, env=sam_env(), capture_output=True, text=True,
    )
    if done.returncode != 0:
        raise SamError(f"sam build failed:\n{done.stdout}\n{done.stderr}")
    subprocess.run(
        [str(stack.ROOT / "scripts" / "local-template"), str(BUILD_DIR / "template.yaml"), str(LOCAL_TEMPLATE),
         *(arg for name in local_variables() for arg in ("--declare", name))],
        check=True,
    )
    say(f"sam build ({ARCHITECTURE}) of template.yaml into {BUILD_DIR.relative_to(stack.ROOT)}, "
        f"derived template {LOCAL_TEMPLATE.relative_to(stack.ROOT)}: {time.monotonic() - started:.1f} s")
    return LOCAL_TEMPLATE


def local_variables(secrets_file: Path = SECRETS_FILE) -> list[str]:
    """What the derived template declares for --env-vars to fill: LOCAL_VARIABLES and the secrets."""
    return [*LOCAL_VARIABLES, *stack.env_file_values(secrets_file)]


def built_bootstrap() -> Path:
    return BUILD_DIR / LOGICAL_ID / "bootstrap"


def declared_variables(template: Path = LOCAL_TEMPLATE) -> set[str]:
    from samcli.yamlhelper import parse_yaml_file

    names = set()
    for resource in (parse_yaml_file(str(template)).get("Resources") or {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            names.update(((resource.get("Properties") or {}).get("Environment") or {}).get("Variables") or {})
    return names


def env_vars_file(path: Path, topic_arn: str, moto_port: int, secrets_file: Path = SECRETS_FILE,
                  extra: dict[str, str] | None = None) -> Path:
    """`--env-vars`: the topic, moto as seen from the container, fake credentials, the test secrets,
    and `extra` (ALERT_ROUTES under make sam-run)."""
    variables = stack.env_file_values(secrets_file)
    variables.update({
        "ALERT_TOPIC_ARN": topic_arn,
        "AWS_ENDPOINT_URL": f"http://{HOST_ALIAS}:{moto_port}",
        "AWS_ACCESS_KEY_ID": stack.FAKE_AWS["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": stack.FAKE_AWS["AWS_SECRET_ACCESS_KEY"],
        **(extra or {}),
    })
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"Parameters": variables}, indent=2) + "\n")
    return path


def local_args(image: str, env_file: Path, template: Path = LOCAL_TEMPLATE) -> list[str]:
    """What `sam local invoke` and `sam local start-api` share."""
    return [
        "--template-file", str(template), "--env-vars", str(env_file), "--parameter-overrides", *PARAMETERS,
        "--skip-pull-image", "--invoke-image", image, "--add-host", f"{HOST_ALIAS}:host-gateway",
        "--region", stack.REGION,
    ]


def invoke_argv(event: Path, image: str, env_file: Path, sam: str = "sam") -> list[str]:
    return [sam, "local", "invoke", LOGICAL_ID, "--event", str(event), *local_args(image, env_file)]


def invoke(event: Path, image: str, env_file: Path, timeout: float = 120) -> tuple[dict, str]:
    """`sam local invoke -e event`: the function's response and sam's stderr (the function's logs)."""
    done = subprocess.run(
        invoke_argv(event, image, env_file),
        cwd=stack.ROOT, env=sam_env(declared_variables()), capture_output=True, text=True, timeout=timeout,
    )
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    try:
        response = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        raise SamError(f"sam local invoke {event.name} gave no response ({done.returncode}):\n"
                       f"{done.stdout}\n{done.stderr}") from None
    return response, done.stderr


class Api:
    """`sam local start-api` on 127.0.0.1:`port`, one warm container started up front (EAGER)."""

    def __init__(self, log_dir: Path, image: str, env_file: Path, port: int, name: str = "sam-api"):
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        argv = ["sam", "local", "start-api", *local_args(image, env_file),
                "--host", "127.0.0.1", "--port", str(port), "--warm-containers", "EAGER"]
        self.service = stack.Service(name, argv, log_dir / f"{name}.log", sam_env(declared_variables()))
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.service.running():
                raise SamError(f"sam local start-api exited:\n{self.service.log_tail()}")
            try:
                requests.get(self.base_url + "/", timeout=2)  # SAM's own 403 for a path with no route
                return
            except requests.ConnectionError:
                time.sleep(0.3)
        raise SamError(f"sam local start-api not ready after {timeout}s:\n{self.service.log_tail()}")

    def stop(self) -> None:
        # SIGTERM lets sam stop its warm container; remove_containers() catches what it leaves.
        self.service.stop(grace=30)
        remove_containers()


def our_containers() -> list[str]:
    """Containers of SAM's running this checkout's build (its code is mounted from .run/sam/)."""
    listed = docker("ps", "-aq", "--filter", "label=sam.cli.container.type", check=False)
    ids = listed.stdout.decode().split()
    if not ids:
        return []
    inspected = docker("inspect", "--format", "{{.Id}} {{range .Mounts}}{{.Source}} {{end}}", *ids, check=False)
    ours = []
    for line in inspected.stdout.decode().splitlines():
        container, *sources = line.split()
        if any(source.startswith(str(SAM_DIR)) for source in sources):
            ours.append(container)
    return ours


def remove_containers() -> list[str]:
    ids = our_containers()
    if ids:
        docker("rm", "-f", *ids, check=False)
    return ids
