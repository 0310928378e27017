"""twistd dropin: ``twistd chatroom`` imports chatroom.server.tap only when it is used."""

from twisted.application.service import ServiceMaker

chatroom = ServiceMaker(
    "chatroom",
    "chatroom.server.tap",
    "A chat server for telnet, nc and chatroom-client users.",
    "chatroom",
)
