"""The refresh's pooled storage connections are checked for life without a round trip: a socket the server has
written to or closed while the connection sat idle is dead; an idle live one has nothing to read."""

import socket

from orchestration.warehouse.liveness import closed_by_server


def test_an_idle_socket_is_alive_and_one_the_server_closed_is_not():
    ours, server = socket.socketpair()
    try:
        assert not closed_by_server(ours.fileno())
        server.close()  # the end of the stream, as a PostgreSQL restart leaves it
        assert closed_by_server(ours.fileno())
    finally:
        ours.close()


def test_a_message_waiting_from_the_server_means_the_connection_is_gone():
    ours, server = socket.socketpair()
    try:
        server.sendall(b"E\x00\x00\x00\x10SFATAL\x00")  # an ErrorResponse: "terminating connection"
        assert closed_by_server(ours.fileno())
    finally:
        ours.close()
        server.close()
