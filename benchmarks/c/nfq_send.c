/* Bounded UDP sender for the nfqueue benchmarks: COUNT datagrams of SIZE bytes to
 * 127.0.0.1:PORT with sendmmsg (64 per call), as fast as the machine allows.
 * usage: nfq_send COUNT PORT SIZE */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
	if (argc != 4) { fprintf(stderr, "usage: nfq_send COUNT PORT SIZE\n"); return 2; }
	long count = atol(argv[1]);
	int port = atoi(argv[2]), size = atoi(argv[3]);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	int sndbuf = 64 << 20;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf));
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port) };
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	static char buf[65536];
	memset(buf, 'x', sizeof(buf));
	struct mmsghdr m[64];
	struct iovec iov[64];
	for (int i = 0; i < 64; i++) {
		iov[i].iov_base = buf; iov[i].iov_len = size;
		memset(&m[i], 0, sizeof(m[i]));
		m[i].msg_hdr.msg_iov = &iov[i]; m[i].msg_hdr.msg_iovlen = 1;
		m[i].msg_hdr.msg_name = &to; m[i].msg_hdr.msg_namelen = sizeof(to);
	}
	long sent = 0;
	while (sent < count) {
		int n = count - sent < 64 ? (int)(count - sent) : 64;
		int r = sendmmsg(fd, m, n, 0);
		if (r < 0) { perror("sendmmsg"); return 1; }
		sent += r;
	}
	return 0;
}
