/* A C nfqueue consumer for comparison: recvmmsg of up to BATCH datagrams, then one
 * NFQNL_MSG_VERDICT_BATCH (NF_ACCEPT) for the last id.  Stops after COUNT packets or
 * IDLE_MS without one; prints "packets seconds" (first packet to last verdict).
 * It binds, prints "ready", and starts reading when a line arrives on stdin.
 * usage: nfq_batch QUEUE COUNT BATCH */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SLOT 2048
#define IDLE_MS 500

static int fd;
static uint32_t seq;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void put_attr(char *msg, int *len, int type, const void *data, int dlen)
{
	struct nlattr *a = (struct nlattr *)(msg + *len);
	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + dlen;
	memcpy(msg + *len + NLA_HDRLEN, data, dlen);
	*len += NLA_ALIGN(a->nla_len);
}

static int begin(char *msg, int type, int queue, int flags)
{
	struct nlmsghdr *h = (struct nlmsghdr *)msg;
	memset(msg, 0, 64);
	h->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | type;
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	h->nlmsg_seq = ++seq;
	struct nfgenmsg *g = (struct nfgenmsg *)(msg + NLMSG_HDRLEN);
	g->nfgen_family = AF_UNSPEC;
	g->version = NFNETLINK_V0;
	g->res_id = htons(queue);
	return NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(*g));
}

static void request(char *msg, int len)
{
	((struct nlmsghdr *)msg)->nlmsg_len = len;
	if (send(fd, msg, len, 0) < 0) { perror("send"); exit(1); }
	char ack[8192];
	int n = recv(fd, ack, sizeof(ack), 0);
	struct nlmsgerr *e = NLMSG_DATA((struct nlmsghdr *)ack);
	if (n < 0 || e->error) { fprintf(stderr, "config: %s\n", strerror(-e->error)); exit(1); }
}

int main(int argc, char **argv)
{
	if (argc != 4) { fprintf(stderr, "usage: nfq_batch QUEUE COUNT BATCH\n"); return 2; }
	int queue = atoi(argv[1]), batch = atoi(argv[3]);
	long count = atol(argv[2]);
	fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER);
	int rcvbuf = 256 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	char msg[256];
	int len = begin(msg, NFQNL_MSG_CONFIG, queue, NLM_F_ACK);
	struct nfqnl_msg_config_cmd cmd = { .command = NFQNL_CFG_CMD_BIND };
	put_attr(msg, &len, NFQA_CFG_CMD, &cmd, sizeof(cmd));
	request(msg, len);
	len = begin(msg, NFQNL_MSG_CONFIG, queue, NLM_F_ACK);
	struct nfqnl_msg_config_params p = { .copy_range = htonl(0xffff), .copy_mode = NFQNL_COPY_PACKET };
	put_attr(msg, &len, NFQA_CFG_PARAMS, &p, sizeof(p));
	uint32_t maxlen = htonl(200000);
	put_attr(msg, &len, NFQA_CFG_QUEUE_MAXLEN, &maxlen, 4);
	request(msg, len);
	printf("ready\n");
	fflush(stdout);
	char go[16];
	if (!fgets(go, sizeof(go), stdin))
		return 1;

	static char bufs[1024][SLOT];
	struct mmsghdr m[1024];
	struct iovec iov[1024];
	for (int i = 0; i < batch; i++) {
		iov[i].iov_base = bufs[i]; iov[i].iov_len = SLOT;
		memset(&m[i], 0, sizeof(m[i]));
		m[i].msg_hdr.msg_iov = &iov[i]; m[i].msg_hdr.msg_iovlen = 1;
	}
	long got = 0;
	double first = 0, last = 0;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	while (got < count) {
		int n = recvmmsg(fd, m, batch, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			if (poll(&pfd, 1, got ? IDLE_MS : 10000) <= 0)
				break;
			continue;
		}
		if (!got)
			first = now();
		uint32_t id = 0;
		int pk = 0;
		for (int i = 0; i < n; i++) {
			struct nlmsghdr *h = (struct nlmsghdr *)bufs[i];
			if (h->nlmsg_type != ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET))
				continue;
			struct nfqnl_msg_packet_hdr *ph =
				(void *)(bufs[i] + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg)) + NLA_HDRLEN);
			id = ntohl(ph->packet_id);
			pk++;
		}
		if (pk) {
			len = begin(msg, NFQNL_MSG_VERDICT_BATCH, queue, 0);
			struct nfqnl_msg_verdict_hdr v = { .verdict = htonl(NF_ACCEPT), .id = htonl(id) };
			put_attr(msg, &len, NFQA_VERDICT_HDR, &v, sizeof(v));
			((struct nlmsghdr *)msg)->nlmsg_len = len;
			send(fd, msg, len, 0);
			got += pk;
			last = now();
		}
	}
	printf("%ld %.6f\n", got, last - first);
	return 0;
}
