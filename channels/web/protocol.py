"""The WebSocket protocol the channel service runs under uvicorn (channels/serve.py).

uvicorn's own (websockets' sans-I/O implementation, what `ws="auto"` picks) decodes a text
message itself: one that is not UTF-8 never reaches the app; uvicorn closes the socket with 1007
and logs an ERROR with a traceback ("Invalid UTF-8 sequence received from client"), for what is
only a broken or hostile client. Here such a message reaches the app as the bytes it is, like a
binary message, and the widget refuses both the same way (channels/web/routes.py: 1008 and one
line of warning, the bytes never logged).
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class WebSocketProtocol(WebSocketsSansIOProtocol):
    def send_receive_event_to_app(self) -> None:
        # A whole message (its fragments joined): a character may be split across fragments.
        if self.curr_msg_data_type == "text" and not _is_utf8(b"".join(self.frames)):
            self.curr_msg_data_type = "bytes"
        super().send_receive_event_to_app()


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


# uvicorn's WebSocket settings of the service (channels/serve.py; the tests' in-process servers).
# No permessage-deflate: the frames are small JSON (a message, a page of history), and compressing
# them cost a zlib stream per socket and 6 % of the event loop's time under make scale-test's
# traffic (one socket per message there, as after a reload) for bytes nobody waits for.
UVICORN_OPTIONS: dict[str, Any] = {"ws": WebSocketProtocol, "ws_per_message_deflate": False}
