"""Copying ``trialCodeDirectory`` to a remote machine: once per experiment, only what changed.

The local folder is scanned (skipping what ``.nniignore`` lists, gitignore syntax as in NNI) into
a manifest of (path, sha256, mode). Each machine keeps a content-addressed cache of file contents
under ``<remote root>/.code-cache``; only contents it lacks are sent (one tar stream), so a
repeated experiment with the same code sends nothing but the manifest. The experiment's code
folder is then built from the cache on the remote side, and trials get hard-linked copies of it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import tarfile
import tempfile
from dataclasses import dataclass

import pathspec

from nni_plugin_remote.connection import Machine, RemoteError

IGNORE_FILE = ".nniignore"
CACHE = ".code-cache"


@dataclass(frozen=True)
class CodeFile:
    path: str  # relative, "/"-separated
    digest: str
    mode: int
    size: int


def load_ignore(code_dir: str) -> pathspec.GitIgnoreSpec | None:
    path = os.path.join(code_dir, IGNORE_FILE)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as file:
        return pathspec.GitIgnoreSpec.from_lines(file.read().splitlines())


def scan(code_dir: str) -> list[CodeFile]:
    """Every file of ``code_dir`` that ``.nniignore`` does not exclude, with its content hash."""
    ignore = load_ignore(code_dir)
    files = []
    for folder, dirs, names in os.walk(code_dir, followlinks=True):
        rel_folder = os.path.relpath(folder, code_dir).replace(os.sep, "/")
        rel_folder = "" if rel_folder == "." else rel_folder + "/"
        if ignore is not None:
            dirs[:] = [d for d in dirs if not ignore.match_file(rel_folder + d + "/")]
        dirs.sort()
        for name in sorted(names):
            rel = rel_folder + name
            if ignore is not None and ignore.match_file(rel):
                continue
            full = os.path.join(folder, name)
            try:
                info = os.stat(full)
            except FileNotFoundError:  # a dangling symlink
                continue
            if not stat.S_ISREG(info.st_mode):
                continue
            digest = hashlib.sha256()
            with open(full, "rb") as file:
                for block in iter(lambda: file.read(1 << 20), b""):
                    digest.update(block)
            files.append(CodeFile(rel, digest.hexdigest(), stat.S_IMODE(info.st_mode), info.st_size))
    return files


# Runs on the remote machine (stdlib only, Python 3.6+). argv: mode, cache folder, target folder.
#   need:  stdin = JSON list of digests; prints the JSON list of those not in the cache.
#   build: stdin = tar stream of "<digest>" members then "manifest.json"; stores the contents in
#          the cache (atomically, so a dropped upload never leaves a truncated entry), then builds
#          the target folder from the manifest (atomically: built aside, then renamed).
REMOTE_SYNC = r'''
import json, os, shutil, sys, tarfile
mode, cache, target = sys.argv[1], sys.argv[2], sys.argv[3]
if not os.path.isdir(cache):
    os.makedirs(cache)
if mode == "need":
    wanted = json.load(sys.stdin)
    print(json.dumps([d for d in wanted if not os.path.exists(os.path.join(cache, d))]))
    sys.exit(0)
manifest = None
with tarfile.open(fileobj=sys.stdin.buffer, mode="r|") as tar:
    for member in tar:
        data = tar.extractfile(member).read()
        if member.name == "manifest.json":
            manifest = json.loads(data.decode("utf-8"))
            continue
        name = os.path.basename(member.name)
        tmp = os.path.join(cache, "." + name + ".%d" % os.getpid())
        with open(tmp, "wb") as out:
            out.write(data)
        os.rename(tmp, os.path.join(cache, name))
if os.path.isdir(target):
    print("exists")
    sys.exit(0)
building = target + ".building.%d" % os.getpid()
for entry in manifest:
    dest = os.path.join(building, *entry["path"].split("/"))
    if not os.path.isdir(os.path.dirname(dest)):
        os.makedirs(os.path.dirname(dest))
    shutil.copyfile(os.path.join(cache, entry["digest"]), dest)
    os.chmod(dest, entry["mode"])
if not os.path.isdir(building):
    os.makedirs(building)
parent = os.path.dirname(target)
if not os.path.isdir(parent):
    os.makedirs(parent)
try:
    os.rename(building, target)
except OSError:
    shutil.rmtree(building)  # built meanwhile by another upload of the same experiment
print("built")
'''


@dataclass
class UploadResult:
    files: int
    sent_files: int
    sent_bytes: int


async def upload_code(machine: Machine, code_dir: str, target: str, files: list[CodeFile] | None = None) -> UploadResult:
    """Make ``target`` (absolute remote path) hold ``code_dir``'s files, sending only contents the
    machine's cache lacks."""
    assert machine.info is not None
    cache = machine.info.root.rstrip("/") + "/" + CACHE
    files = scan(code_dir) if files is None else files
    digests = sorted({f.digest for f in files})
    need = await machine.run(machine.spec.python_command(REMOTE_SYNC, "need", cache, target),
                             input=json.dumps(digests).encode())
    if need.exit_status != 0:
        raise RemoteError(f"remote machine {machine.spec.label}: cannot read the code cache {cache}: "
                          f"{_last_line(need.stderr)}")
    missing = set(json.loads(need.stdout.splitlines()[-1]))  # last line: login scripts may print
    by_digest = {f.digest: f for f in files}
    sent_bytes = 0
    with tempfile.TemporaryFile() as archive:
        with tarfile.open(fileobj=archive, mode="w") as tar:
            for digest in sorted(missing):
                tar.add(os.path.join(code_dir, *by_digest[digest].path.split("/")), arcname=digest)
                sent_bytes += by_digest[digest].size
            manifest = json.dumps([{"path": f.path, "digest": f.digest, "mode": f.mode} for f in files]).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(manifest)
            tar.addfile(info, io.BytesIO(manifest))
        archive.seek(0)
        data = archive.read()
    build = await machine.run(machine.spec.python_command(REMOTE_SYNC, "build", cache, target), input=data)
    if build.exit_status != 0:
        raise RemoteError(f"remote machine {machine.spec.label}: cannot copy the trial code to {target}: "
                          f"{_last_line(build.stderr)}")
    return UploadResult(files=len(files), sent_files=len(missing), sent_bytes=sent_bytes)


def _last_line(data: bytes | str | None) -> str:
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    lines = (data or "").strip().splitlines()
    return lines[-1] if lines else "no error output"
