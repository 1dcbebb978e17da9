/*
 * Minimal UDP echo server: the baseline the node's RPC rate is compared with (Bench/RESULTS.md).
 * Receives batches with recvmmsg(2) and sends each datagram back, unchanged, to its source with sendmmsg(2).
 * One thread, blocking, SO_RCVBUF 4 MiB like UdpMessageTransport.
 *
 * usage: echo PORT LIFETIME_SECONDS
 *   binds 127.0.0.1:PORT (0 = any free port), prints "port N" on stdout once bound, and exits after
 *   LIFETIME_SECONDS (alarm(2)) so a crashed benchmark can never leave it running; SIGTERM ends it at once.
 * Built by scripts/bench.sh with gcc -O2.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64
#define MAX_DATAGRAM 2048

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s PORT LIFETIME_SECONDS\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    int lifetime = atoi(argv[2]);
    if (port < 0 || port > 65535 || lifetime <= 0 || lifetime > 3600) {
        fprintf(stderr, "error: PORT must be 0..65535 and LIFETIME_SECONDS 1..3600\n");
        return 2;
    }

    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
        perror("socket");
        return 1;
    }
    int rcvbuf = 4 * 1024 * 1024;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    int sndbuf = 1024 * 1024;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);

    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons((unsigned short)port);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        perror("bind");
        return 1;
    }
    socklen_t len = sizeof addr;
    getsockname(fd, (struct sockaddr *)&addr, &len);
    printf("port %d\n", ntohs(addr.sin_port));
    fflush(stdout);
    alarm((unsigned)lifetime);

    static char buffers[BATCH][MAX_DATAGRAM];
    static struct sockaddr_in sources[BATCH];
    static struct iovec iov[BATCH];
    static struct mmsghdr msgs[BATCH];
    for (;;) {
        for (int i = 0; i < BATCH; i++) {
            iov[i].iov_base = buffers[i];
            iov[i].iov_len = MAX_DATAGRAM;
            memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
            msgs[i].msg_hdr.msg_name = &sources[i];
            msgs[i].msg_hdr.msg_namelen = sizeof sources[i];
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        /* Block for the first datagram, then take whatever else is already queued (MSG_WAITFORONE). */
        int n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
        if (n < 0) {
            if (errno == EINTR) continue;
            perror("recvmmsg");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            iov[i].iov_len = msgs[i].msg_len;
        }
        int sent = 0;
        while (sent < n) {
            int m = sendmmsg(fd, msgs + sent, (unsigned)(n - sent), 0);
            if (m < 0) {
                if (errno == EINTR) continue;
                break; /* e.g. ENOBUFS: drop the rest of the batch, as UDP may */
            }
            sent += m;
        }
    }
}
