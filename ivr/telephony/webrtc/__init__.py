"""WebRTC transport (browser softphone over aiortc).

* :mod:`.gateway`: the CallSource; SDP offers in, sessions run to the end.
* :mod:`.call`: one peer connection as a :class:`~ivr.telephony.call.Call`.
* :mod:`.media`: prompt track out, caller audio in, the recording mix.
* :mod:`.events`: the ``hotline`` data channel protocol (pure).
* :mod:`.sdp`: pure checks of a caller's offer; :mod:`.ice`: aioice kept on our addresses.
* :mod:`.settings`: the ``webrtc`` section of the settings tree.
"""
