"""A TCP relay between a member and a real redis-server, for tests that
need a link to misbehave at a chosen moment (lossy_link.py, late_reply.py).

Each connection the member makes is a Link: the relay opens its own to
the server and forwards both ways. For every chunk it reads, it asks
decide(link, up, data) (up: member to server) what to do: None forwards
it; "cut" closes the link without forwarding it; a number of seconds
forwards it after that pause (the chunks behind it on that side wait).
"""
import socket
import threading
import time


class Link:
    def __init__(self, member, server):
        self.member, self.server = member, server
        self.sent = b""  # the first bytes the member sent, to tell links apart

    def close(self):
        for sock in (self.member, self.server):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Relay:
    def __init__(self, port, decide):
        self.port, self.decide = port, decide
        self.links = []
        self.lsock = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self.serve, daemon=True).start()

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.lsock.getsockname()[1]

    def serve(self):
        while True:
            c, _ = self.lsock.accept()
            link = Link(c, socket.create_connection(("127.0.0.1",
                                                     self.port)))
            self.links.append(link)
            for src, dst, up in ((c, link.server, True),
                                 (link.server, c, False)):
                threading.Thread(target=self.pipe, args=(link, src, dst, up),
                                 daemon=True).start()

    def pipe(self, link, src, dst, up):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if up and len(link.sent) < 4096:
                    link.sent += data
                act = self.decide(link, up, data)
                if act == "cut":
                    break
                if act:
                    time.sleep(act)
                dst.sendall(data)
        except OSError:
            pass
        link.close()
