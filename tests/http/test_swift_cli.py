"""The `swift` command line client (python3-swiftclient) against the server."""

import filecmp
import os
import shutil
import subprocess
import tempfile

import pytest

SWIFT = shutil.which("swift") or "/usr/bin/swift"


@pytest.fixture
def cli(server):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OS_", "ST_", "SWIFT"))}
    env.update(ST_AUTH=server.auth_url, ST_USER=server.user,
               ST_KEY=server.key)

    def run(*args, cwd=None, timeout=300):
        p = subprocess.run([SWIFT] + list(args), env=env, cwd=cwd,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
        assert p.returncode == 0, (args, p.stdout[-2000:], p.stderr[-2000:])
        return p.stdout.decode("utf-8", "replace")

    return run


@pytest.fixture
def workdir():
    d = tempfile.mkdtemp(prefix="swiftlet-cli-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _tree(root):
    files = {
        "top.txt": b"top level\n",
        "empty.bin": b"",
        "a/one.json": b'{"k": 1}',
        "a/b/two.bin": os.urandom(65537),
        "a/b/c/three \u00e9.txt": "accent\n".encode("utf-8"),
        "d/four.dat": os.urandom(1 << 20),
    }
    for rel, data in files.items():
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
    return sorted(files)


def test_cli_stat(cli):
    out = cli("stat")
    assert "Account: AUTH_test" in out
    assert "Containers:" in out


def test_cli_upload_download_tree(cli, container, workdir):
    cname = container.rsplit("/", 1)[1]
    src = os.path.join(workdir, "src")
    os.makedirs(src)
    rels = _tree(src)
    cli("upload", cname, ".", cwd=src)
    listed = cli("list", cname).split("\n")[:-1]
    assert sorted(listed) == sorted(rels)
    dst = os.path.join(workdir, "dst")
    os.makedirs(dst)
    cli("download", cname, "-D", dst)
    for rel in rels:
        assert filecmp.cmp(os.path.join(src, rel), os.path.join(dst, rel),
                           shallow=False), rel
    out = cli("stat", cname)
    assert "Objects: %d" % len(rels) in out


def test_cli_large_file(cli, container, workdir):
    cname = container.rsplit("/", 1)[1]
    src = os.path.join(workdir, "big.bin")
    with open(src, "wb") as f:
        for _ in range(100):
            f.write(os.urandom(1 << 20))
    cli("upload", "--object-name", "big.bin", cname, src)
    out = cli("stat", cname, "big.bin")
    assert "Content Length: %d" % (100 << 20) in out
    dst = os.path.join(workdir, "back.bin")
    cli("download", cname, "big.bin", "-o", dst)
    assert os.path.getsize(dst) == 100 << 20
    assert filecmp.cmp(src, dst, shallow=False)
