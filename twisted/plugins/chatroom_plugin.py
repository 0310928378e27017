"""twistd dropin: ``twistd chatroom`` imports chatroom.tap only when it is used."""

from twisted.application.service import ServiceMaker

chatroom = ServiceMaker(
    "chatroom",
    "chatroom.tap",
    "A chat server for telnet, nc and chatroom-client users.",
    "chatroom",
)
