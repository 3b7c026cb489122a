/* thttp.c - see thttp.h */
#include "thttp.h"

#include <string.h>
#include <sys/socket.h>

size_t thttp_read_head(int fd, char *buf, size_t size)
{
    size_t got = 0;
    buf[0] = 0;
    while (got < size - 1) {
        ssize_t n = recv(fd, buf + got, size - 1 - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
        buf[got] = 0;
        if (strstr(buf, "\r\n\r\n"))
            break;
    }
    return got;
}

bool thttp_send(int fd, const char *head, size_t body_len)
{
    char buf[65536];
    size_t len = strlen(head), sent = 0, total = len + body_len;
    memset(buf, 'x', sizeof(buf));
    while (sent < len) {
        ssize_t w = send(fd, head + sent, len - sent, MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        sent += (size_t)w;
    }
    while (sent < total) {
        size_t n = total - sent < sizeof(buf) ? total - sent : sizeof(buf);
        ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        sent += (size_t)w;
    }
    return true;
}
