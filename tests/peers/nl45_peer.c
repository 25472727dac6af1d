/*
 * nl45_peer: plays the Linux 4.5 kernel's side of a memory-mapped netlink ring
 * pair over a shared file, independently of netring (test tooling).
 *
 * The mapping is the 4.5 one (net/netlink/af_netlink.c, netlink_mmap): the RX
 * ring at offset 0, the TX ring right after it; frame i of a ring lives at
 * (i / frames_per_block) * block_size + (i % frames_per_block) * frame_size.
 *
 *   RX (the kernel's producer side, netlink_forward_ring + __netlink_alloc_skb +
 *       netlink_queue_mmaped_skb): step over SKIP frames (one lap at most); at an
 *       UNUSED frame write the message, nm_len, nm_group, nm_pid, nm_uid, nm_gid,
 *       then nm_status = VALID with a release store.  Every ZERO_EVERY-th frame is
 *       a VALID frame with nm_len 0 (a message the kernel dropped after reserving
 *       the frame); it carries no message and is not counted.
 *   TX (the kernel's consumer side, netlink_mmap_sendmsg): take VALID frames in
 *       ring order (acquire load), check nm_len against the frame, check the
 *       netlink message, store UNUSED (release), move on.
 *
 * RX messages: struct nlmsghdr { len, type 0x10, flags 0, seq, pid 0 } followed
 * by a u64 CLOCK_MONOTONIC time in ns taken just before the VALID store, then
 * padding up to a length that varies with seq.  TX messages are expected to
 * carry seq 0, 1, 2, ... in order.
 *
 * usage: nl45_peer FILE RX_BS RX_BN RX_FS RX_FN TX_BS TX_BN TX_FS TX_FN
 *                  RX_COUNT TX_COUNT ZERO_EVERY GAP_US TIMEOUT_MS
 *   FILE       a descriptor number (inherited) or a path
 *   *_BS ...   nl_mmap_req of each ring (TX_BN 0: no TX ring)
 *   GAP_US     pause before each RX message (0: full speed)
 * prints one line "rx_sent=N rx_zero=Z tx_got=M elapsed_us=T" and exits 0;
 * exits 2 on bad arguments, 3 on a bad TX frame, 4 on a TX message out of order,
 * 5 on timeout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* include/uapi/linux/netlink.h (3.10 - 4.5) */
struct nl_mmap_hdr {
	unsigned int nm_status;
	unsigned int nm_len;
	uint32_t nm_group;
	uint32_t nm_pid;
	uint32_t nm_uid;
	uint32_t nm_gid;
};
enum nl_mmap_status {
	NL_MMAP_STATUS_UNUSED,
	NL_MMAP_STATUS_RESERVED,
	NL_MMAP_STATUS_VALID,
	NL_MMAP_STATUS_COPY,
	NL_MMAP_STATUS_SKIP,
};
#define NL_MMAP_HDRLEN 24

struct nlmsghdr_ {
	uint32_t nlmsg_len;
	uint16_t nlmsg_type;
	uint16_t nlmsg_flags;
	uint32_t nlmsg_seq;
	uint32_t nlmsg_pid;
};

struct ring {
	unsigned char *base;
	unsigned int block_size, block_nr, frame_size, frame_nr, fpb;
	unsigned int head;
};

static struct nl_mmap_hdr *frame(const struct ring *r, unsigned int i)
{
	return (struct nl_mmap_hdr *)(r->base + (size_t)(i / r->fpb) * r->block_size +
				      (size_t)(i % r->fpb) * r->frame_size);
}

static unsigned int status(const struct nl_mmap_hdr *h)
{
	return __atomic_load_n(&h->nm_status, __ATOMIC_ACQUIRE);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void advance(struct ring *r)
{
	r->head = r->head == r->frame_nr - 1 ? 0 : r->head + 1;
}

/* netlink_forward_ring: step over SKIP frames, at most one lap */
static void forward_ring(struct ring *r)
{
	unsigned int start = r->head;
	do {
		unsigned int st = status(frame(r, r->head));
		if (st != NL_MMAP_STATUS_SKIP)
			break;
		advance(r);
	} while (r->head != start);
}

static unsigned long long rx_sent, rx_zero, tx_got, slots;

/* one RX frame if there is room; 1 if a frame was published */
static int rx_step(struct ring *r, unsigned long long count, unsigned int zero_every)
{
	struct nl_mmap_hdr *h;
	unsigned int seq, len, room;
	struct nlmsghdr_ nlh;
	uint64_t stamp;

	if (rx_sent >= count)
		return 0;
	forward_ring(r);
	h = frame(r, r->head);
	if (status(h) != NL_MMAP_STATUS_UNUSED)
		return 0; /* ring full: the kernel would drop (ENOBUFS); we wait */
	slots++;
	if (zero_every && slots % zero_every == 0) {
		h->nm_len = 0;
		h->nm_group = 0;
		__atomic_store_n(&h->nm_status, NL_MMAP_STATUS_VALID, __ATOMIC_RELEASE);
		advance(r);
		rx_zero++;
		return 1;
	}
	seq = (unsigned int)rx_sent;
	room = r->frame_size - NL_MMAP_HDRLEN;
	len = 24 + (seq % 8) * 4;
	if (len > room)
		len = room & ~3u;
	nlh.nlmsg_len = len;
	nlh.nlmsg_type = 0x10;
	nlh.nlmsg_flags = 0;
	nlh.nlmsg_seq = seq;
	nlh.nlmsg_pid = 0;
	memset((unsigned char *)h + NL_MMAP_HDRLEN, 0, len);
	memcpy((unsigned char *)h + NL_MMAP_HDRLEN, &nlh, sizeof(nlh));
	h->nm_len = len;
	h->nm_group = seq % 3 == 0 ? 1 : 0;
	h->nm_pid = (uint32_t)getpid();
	h->nm_uid = (uint32_t)getuid();
	h->nm_gid = (uint32_t)getgid();
	stamp = now_ns();
	memcpy((unsigned char *)h + NL_MMAP_HDRLEN + sizeof(nlh), &stamp, sizeof(stamp));
	__atomic_store_n(&h->nm_status, NL_MMAP_STATUS_VALID, __ATOMIC_RELEASE);
	advance(r);
	rx_sent++;
	return 1;
}

/* one TX frame if the user queued one; 1 if taken */
static int tx_step(struct ring *r, unsigned long long count)
{
	struct nl_mmap_hdr *h;
	struct nlmsghdr_ nlh;
	unsigned int len;

	if (tx_got >= count)
		return 0;
	h = frame(r, r->head);
	if (status(h) != NL_MMAP_STATUS_VALID)
		return 0;
	len = h->nm_len;
	if (len > r->frame_size - NL_MMAP_HDRLEN || len < sizeof(nlh)) {
		fprintf(stderr, "TX frame %u: nm_len %u out of range\n", r->head, len);
		exit(3);
	}
	memcpy(&nlh, (unsigned char *)h + NL_MMAP_HDRLEN, sizeof(nlh));
	if (nlh.nlmsg_len > len || nlh.nlmsg_seq != (uint32_t)tx_got) {
		fprintf(stderr, "TX frame %u: seq %u len %u, expected seq %llu\n", r->head,
			nlh.nlmsg_seq, nlh.nlmsg_len, tx_got);
		exit(4);
	}
	__atomic_store_n(&h->nm_status, NL_MMAP_STATUS_UNUSED, __ATOMIC_RELEASE);
	advance(r);
	tx_got++;
	return 1;
}

static int geometry(struct ring *r, char **a)
{
	r->block_size = (unsigned int)strtoul(a[0], NULL, 0);
	r->block_nr = (unsigned int)strtoul(a[1], NULL, 0);
	r->frame_size = (unsigned int)strtoul(a[2], NULL, 0);
	r->frame_nr = (unsigned int)strtoul(a[3], NULL, 0);
	r->head = 0;
	if (r->block_nr == 0)
		return 0;
	if (r->frame_size < NL_MMAP_HDRLEN || r->frame_size > r->block_size)
		return -1;
	r->fpb = r->block_size / r->frame_size;
	return r->fpb * r->block_nr == r->frame_nr ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct ring rx, tx;
	unsigned long long rx_count, tx_count, timeout_ms, gap_us, idle = 0;
	unsigned int zero_every;
	size_t rx_size, tx_size;
	uint64_t t0, deadline, next_rx = 0;
	unsigned char *map;
	int fd;

	if (argc != 15) {
		fprintf(stderr, "usage: %s FILE RX_BS RX_BN RX_FS RX_FN TX_BS TX_BN TX_FS TX_FN "
				"RX_COUNT TX_COUNT ZERO_EVERY GAP_US TIMEOUT_MS\n", argv[0]);
		return 2;
	}
	fd = argv[1][0] == '/' ? open(argv[1], O_RDWR) : atoi(argv[1]);
	if (fd < 0 || geometry(&rx, argv + 2) || geometry(&tx, argv + 6)) {
		fprintf(stderr, "bad file or geometry\n");
		return 2;
	}
	rx_count = strtoull(argv[10], NULL, 0);
	tx_count = strtoull(argv[11], NULL, 0);
	zero_every = (unsigned int)strtoul(argv[12], NULL, 0);
	gap_us = strtoull(argv[13], NULL, 0);
	timeout_ms = strtoull(argv[14], NULL, 0);
	rx_size = (size_t)rx.block_size * rx.block_nr;
	tx_size = (size_t)tx.block_size * tx.block_nr;
	map = mmap(NULL, rx_size + tx_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		fprintf(stderr, "mmap: %s\n", strerror(errno));
		return 2;
	}
	rx.base = map;
	tx.base = map + rx_size; /* "The TX ring is located after the RX ring" */
	if (tx.block_nr == 0)
		tx_count = 0;
	t0 = now_ns();
	deadline = t0 + timeout_ms * 1000000ull;
	while (rx_sent < rx_count || tx_got < tx_count) {
		int progress = 0, k;
		uint64_t t = 0;

		if (gap_us && rx_sent < rx_count) {
			t = now_ns();
			if (t >= next_rx && rx_step(&rx, rx_count, zero_every)) {
				progress = 1;
				next_rx = now_ns() + gap_us * 1000ull;
			}
		} else {
			for (k = 0; k < 64 && rx_step(&rx, rx_count, zero_every); k++)
				progress = 1;
		}
		for (k = 0; k < 64 && tx_step(&tx, tx_count); k++)
			progress = 1;
		if (progress) {
			idle = 0;
			continue;
		}
		if (++idle % 256 == 0 && now_ns() > deadline) {
			fprintf(stderr, "timeout: rx_sent=%llu tx_got=%llu\n", rx_sent, tx_got);
			return 5;
		}
		if (idle > 64) {
			struct timespec ts = {0, 20000};
			nanosleep(&ts, NULL);
		} else {
			sched_yield();
		}
	}
	printf("rx_sent=%llu rx_zero=%llu tx_got=%llu elapsed_us=%llu\n", rx_sent, rx_zero,
	       tx_got, (unsigned long long)((now_ns() - t0) / 1000));
	fflush(stdout);
	return 0;
}
