"""``make lab`` starts JupyterLab where readers run it, root included, and serves a chapter.

JupyterLab refuses to run as root unless given ``--allow-root``, and containers (and CI)
run as root; the Makefile adds the flag there. This test runs the real ``make lab``, with
a port and a token of its own and no browser, waits for the server, and asks it for a
chapter, both as a notebook (the contents API) and as the page a reader opens.
"""

import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = "01_sigmoid.ipynb"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read()


def test_make_lab_serves_a_chapter(tmp_path):
    port, token = free_port(), secrets.token_hex(16)
    args = f"--no-browser --ip=127.0.0.1 --port={port} --ServerApp.port_retries=0 --IdentityProvider.token={token}"
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    log = tmp_path / "lab.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            ["make", "--no-print-directory", "lab", f"LAB_ARGS={args}"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if server.poll() is not None:
                pytest.fail(f"make lab stopped with exit code {server.returncode}:\n{log.read_text()[-3000:]}")
            try:
                status, body = get(f"{base}/api/contents/{CHAPTER}?token={token}")
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("JupyterLab did not answer within 90 s")
                time.sleep(0.5)
        assert status == 200
        model = json.loads(body)
        assert model["type"] == "notebook" and model["name"] == CHAPTER
        assert any("sigmoid" in "".join(cell["source"]).lower() for cell in model["content"]["cells"])
        status, page = get(f"{base}/lab/tree/{CHAPTER}?token={token}")
        assert status == 200 and b"JupyterLab" in page
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
