"""Test helpers for the download paths: a loopback HTTP server over a dict of files,
and a CIFAR-10 archive in the real binary format (never a pickle)."""

from __future__ import annotations

import http.server
import io
import tarfile
import threading

import numpy as np

from convlab.data import datasets


class Server:
    """Serves ``files`` (name -> bytes, with a Content-Length for the progress bar)
    on 127.0.0.1 while in the ``with`` block; ``url`` ends with "/"."""

    def __init__(self, files: dict[str, bytes]) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                body = files.get(self.path.lstrip("/"))
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


def cifar_archive(
    n_train: int, n_test: int, seed: int = 1
) -> tuple[bytes, list[np.ndarray]]:
    """A .tar.gz of CIFAR-10's binary batches with random records (label byte, then
    the R, G, B planes), and the records of each batch in the archive's order."""
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    planes = []
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name in (*datasets.CIFAR10["train"], *datasets.CIFAR10["test"]):
            n = n_test if "test" in name else n_train
            records = rng.integers(0, 256, (n, 3073), dtype=np.uint8)
            records[:, 0] %= 10
            planes.append(records)
            info = tarfile.TarInfo(name)
            info.size = records.nbytes
            tar.addfile(info, io.BytesIO(records.tobytes()))
    return buffer.getvalue(), planes
