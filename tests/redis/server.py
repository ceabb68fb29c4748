#!/usr/bin/env python3
"""A real redis-server for tests and benchmarks, on a free loopback port.

    python3 tests/redis/server.py COMMAND ARGS...

starts redis-server in a fresh directory, runs the command with AQ_REDIS
set to its host:port, stops the server and exits with the command's
status. Imported, RedisServer gives start(), stop(), restart() (same
port, same data: append-only file fsynced at every write, so what the
server acknowledged survives) and cli().
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self, persist=False):
        self.dir = tempfile.mkdtemp(prefix="aq-redis-")
        self.port = free_port()
        self.persist = persist
        self.extra = []  # more redis-server arguments (loading.py)
        self.proc = None

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port

    def start(self, loaded=True):
        """Starts the server and returns once it answers PING (loaded
        False: once it answers at all, LOADING included)."""
        args = ["redis-server", "--port", str(self.port),
                "--bind", "127.0.0.1", "--dir", self.dir,
                "--logfile", os.path.join(self.dir, "log"), "--save", ""]
        if self.persist:
            args += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            args += ["--appendonly", "no"]
        args += self.extra
        self.proc = subprocess.Popen(args)
        for _ in range(500):
            if self.proc.poll() is not None:
                raise RuntimeError("redis-server exited: see " + self.dir)
            try:
                reply = self.cli("PING").strip()
                if reply == "PONG" or (not loaded and
                                       reply.startswith("LOADING")):
                    return self
            except subprocess.CalledProcessError:
                pass
            time.sleep(0.01)
        raise RuntimeError("redis-server did not answer on %d" % self.port)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        self.proc = None

    def restart(self, down=0.0):
        self.stop()
        time.sleep(down)
        return self.start()

    def cli(self, *args, raw=False):
        cmd = ["redis-cli", "-p", str(self.port)] + (["--raw"] if raw else [])
        return subprocess.run(cmd + list(args), check=True, text=True,
                              capture_output=True, timeout=30).stdout

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    with RedisServer() as srv:
        env = dict(os.environ, AQ_REDIS=srv.addr)
        sys.exit(subprocess.call(sys.argv[1:], env=env))


if __name__ == "__main__":
    main()
