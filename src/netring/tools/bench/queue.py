"""nfnetlink_queue accept-all: one consumer beside the C reference and the peers, in one run.

Run as ``netring bench queue [--quick]`` or ``python benchmarks/bench_queue.py [--quick]``
(root: it makes and removes a private network namespace, ``nrbench-queue-PID``).

::

    traffic (C, two threads)                     kernel                      consumer (one process)
    sender --sendmmsg--> 127.0.0.1:PORT --> iptables OUTPUT -j NFQUEUE --> NFQNL_MSG_PACKET --> recv
       ^                                          queue QUEUE_NUM             <-- verdict ACCEPT --'
       |  at most WINDOW in flight                    |
    sink <--recvmmsg-- UDP socket <-------------------'  (the accepted datagram goes on to the sink)

* The **traffic program** (C, compiled with ``gcc`` at run time into a temporary
  directory) sends 64-byte or 1400-byte UDP datagrams (UDP payload) in
  ``sendmmsg`` bursts of 32 and drains them at the other end with ``recvmmsg``: the
  sink is a thread of the same program, so every consumer gets the same sink.  It
  is a closed loop: the sender keeps at most :data:`WINDOW` datagrams between its
  send and the sink (below the kernel queue's default limit of 1024), so the load
  is as high as the consumer can take and a drop is the consumer's (its socket
  buffer), never the benchmark's.  It stops after N datagrams or T seconds and
  reports what reached the sink and when.  A datagram carries its sequence number
  and send time; at :data:`LATENCY_RATE` datagrams/s the sink records each one's
  latency (send to sink, the consumer's round trip included).
* **Consumers** (:data:`CONSUMERS`, each a command line run as its own process in
  the namespace): the C reference (raw ``NETLINK_NETFILTER`` socket, no library:
  ``recv`` and one ``NFQNL_MSG_VERDICT`` per packet) and C batch-64 (``recvmmsg``
  of up to 64, one ``NFQNL_MSG_VERDICT_BATCH`` for what it got); NetfilterQueue
  1.1.0 and fnfqueue 1.1.2 written the way their users write them; a raw Python
  baseline (``socket`` module only: ``recv_into`` + one verdict, and ``recv_into``
  until the socket is empty or 64 packets, then one batch verdict); netring.
* **Measured per consumer**: verdicts/s = datagrams that reached the sink / time
  from the first send to the last arrival; consumer CPU seconds over that window
  (``utime + stime`` of the whole process from ``/proc/PID/stat``, all threads) ->
  verdicts per consumer CPU-second; the kernel's counts for the queue
  (``/proc/net/netfilter/nfnetlink_queue`` read inside the namespace: packets
  queued, queue and socket drops) and the consumer's own count where it prints
  one.  Each consumer is measured in :data:`ROUNDS` interleaved rounds, the best
  round kept.  The peers are installed at run time into a cache venv
  (``$XDG_CACHE_HOME/netring-bench/venv``, default ``~/.cache/...``), never into the
  environment netring runs from; a peer that cannot be installed is skipped with
  one line saying why.
* The column "traffic CPU" is the traffic program's CPU time over its wall time
  (sender and sink threads together; 100 % is one core): near 100 % the sender, not
  the consumer, set the pace.  "per verdict" is packets per verdict message, from
  the consumers that count their own (C, raw Python, netring): a batching consumer
  that keeps up with the sender finds fewer packets waiting, so its batches, and
  its verdicts per CPU-second, shrink.

On two cores the sender's share of the kernel's work (UDP send, the NFQUEUE
rule, copying each packet into its netlink message) runs beside the consumer, so
the fastest consumers can meet the rig's ceiling; verdicts per consumer
CPU-second is the column that compares consumers whatever the sender does.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from ...codec.types import TYPE_CHECKING
from ._common import command_line, machine, peer_venv_dir, print_footer, print_table

if TYPE_CHECKING:
    from typing import Any, TextIO

__all__ = ["run", "Consumer", "CONSUMERS", "consumer_argv", "PLACEHOLDERS", "TRAFFIC_C",
           "CONSUMER_C", "RAW_PY", "NETFILTERQUEUE_PY", "NETRING_COMPAT_PY", "FNFQUEUE_PY",
           "peer_venv_dir",
           "parse_queue_stats"]

QUEUE_NUM = 7          #: the NFQUEUE number the rule sends to
PORT = 9               #: UDP port of the sink (the rule matches it)
SIZES = (64, 1400)     #: UDP payload bytes
WINDOW = 512           #: datagrams at most between send and sink (closed loop)
BATCH = 64             #: batch size of the batch-64 consumers
ROUNDS = 2             #: interleaved rounds per consumer (the best is kept)
LATENCY_RATE = 1000    #: datagrams/s of the latency runs
NETFILTERQUEUE = "NetfilterQueue==1.1.0"
#: the patch posting's nfqueue figures (1400-byte UDP, Mbit/s): (receive path, batch) ->
#: rate; "socket" is its regular netlink I/O, "ring" its mmap'ed receive
SEED_TABLE_MBIT = {("socket", 0): 1250, ("ring", 0): 1230, ("socket", 10): 1590,
                   ("ring", 10): 1770}
FNFQUEUE = "fnfqueue==1.1.2"


# --------------------------------------------------------------------------- the C programs

TRAFFIC_C = r'''/* netring bench queue: UDP traffic through an NFQUEUE rule, and the sink that drains it.
 *
 * usage: traffic PORT SIZE COUNT SECONDS WINDOW RATE
 *   sends COUNT datagrams of SIZE bytes to 127.0.0.1:PORT (or stops after SECONDS)
 *   RATE == 0: sendmmsg bursts, keeping at most WINDOW datagrams between the
 *              sender and the sink (closed loop: as fast as the consumer verdicts)
 *   RATE > 0:  one datagram every 1/RATE s; the sink records each one's latency
 * Each payload starts with a sequence number and CLOCK_MONOTONIC send time (ns).
 * Prints one JSON line with the counts, times and latency percentiles.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define BURST 32
#define SINK_BATCH 64
#define STALL_NS 100000000ULL  /* window full, nothing new for 100 ms: the rest was lost */
#define DRAIN_NS 300000000ULL  /* after the last send, wait this long for stragglers */
#define HARD_NS 2000000000ULL  /* and never longer than this past SECONDS */

static int port, size, rate, window;
static uint64_t count, limit_ns;
static uint64_t sent, received, seen_upto, written_upto, stalls, send_errors;
static uint64_t t_start, t_send_end, t_first, t_last;
static int sender_done, sender_waiting;
static uint64_t *lat;
static uint64_t nlat;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int sink_fd;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t load(uint64_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }

static void *sink(void *arg) {
    (void)arg;
    static char bufs[SINK_BATCH][2048];
    struct mmsghdr msgs[SINK_BATCH];
    struct iovec iov[SINK_BATCH];
    for (int i = 0; i < SINK_BATCH; i++) {
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = sizeof bufs[i];
        memset(&msgs[i], 0, sizeof msgs[i]);
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    uint64_t cap = rate ? count : 0;
    for (;;) {
        int n = recvmmsg(sink_fd, msgs, SINK_BATCH, MSG_WAITFORONE, NULL);
        uint64_t t = now_ns();
        if (n <= 0) {
            if (__atomic_load_n(&sender_done, __ATOMIC_SEQ_CST)) {
                uint64_t last = t_last > t_send_end ? t_last : t_send_end;
                if (load(&seen_upto) >= load(&sent) || t - last > DRAIN_NS ||
                    t - t_start > limit_ns + HARD_NS)
                    break;
            }
            continue;
        }
        if (!t_first)
            t_first = t;
        t_last = t;
        uint64_t upto = seen_upto;
        for (int i = 0; i < n; i++) {
            uint64_t seq, ts;
            memcpy(&seq, bufs[i], 8);
            if (seq + 1 > upto) upto = seq + 1;
            if (cap && nlat < cap) {
                memcpy(&ts, bufs[i] + 8, 8);
                lat[nlat++] = t - ts;
            }
        }
        __atomic_store_n(&seen_upto, upto, __ATOMIC_SEQ_CST);
        __atomic_add_fetch(&received, (uint64_t)n, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&sender_waiting, __ATOMIC_SEQ_CST)) {
            pthread_mutex_lock(&mu);
            pthread_cond_signal(&cv);
            pthread_mutex_unlock(&mu);
        }
        if (t - t_start > limit_ns + HARD_NS && __atomic_load_n(&sender_done, __ATOMIC_SEQ_CST))
            break;
    }
    return NULL;
}

/* datagrams between the sender and the sink if `upto` had been sent: delivery is in
   order (one queue, one consumer), so a datagram older than the newest one that
   reached the sink is either there or lost */
static int64_t in_flight(uint64_t upto) {
    uint64_t done = load(&seen_upto);
    if (written_upto > done) done = written_upto;
    return (int64_t)upto - (int64_t)done;
}

/* closed loop: wait until a burst of n fits in the window */
static void wait_window(uint64_t n) {
    uint64_t s = load(&sent);
    if (in_flight(s + n) <= window)
        return;
    pthread_mutex_lock(&mu);
    __atomic_store_n(&sender_waiting, 1, __ATOMIC_SEQ_CST);
    uint64_t seen = load(&seen_upto), since = now_ns();
    while (in_flight(s + n) > window) {
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_nsec += 2000000;
        if (dl.tv_nsec >= 1000000000) { dl.tv_sec++; dl.tv_nsec -= 1000000000; }
        pthread_cond_timedwait(&cv, &mu, &dl);
        uint64_t r = load(&seen_upto), t = now_ns();
        if (r != seen) { seen = r; since = t; }
        else if (t - since > STALL_NS) {           /* what is in flight is not coming back */
            written_upto = s;
            stalls++;
            break;
        }
        if (t - t_start > limit_ns) break;
    }
    __atomic_store_n(&sender_waiting, 0, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&mu);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s PORT SIZE COUNT SECONDS WINDOW RATE\n", argv[0]);
        return 2;
    }
    port = atoi(argv[1]);
    size = atoi(argv[2]);
    count = strtoull(argv[3], NULL, 10);
    limit_ns = (uint64_t)(atof(argv[4]) * 1e9);
    window = atoi(argv[5]);
    rate = atoi(argv[6]);
    if (size < 16 || size > 2000 || count == 0 || (!rate && window < BURST)) {
        fprintf(stderr, "traffic: bad arguments\n");
        return 2;
    }
    if (rate && !(lat = calloc(count, sizeof *lat))) return 1;
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sink_fd = socket(AF_INET, SOCK_DGRAM, 0);
    int big = 16 << 20;
    if (setsockopt(sink_fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) < 0)
        setsockopt(sink_fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    struct timeval tv = {.tv_sec = 0, .tv_usec = 50000};
    setsockopt(sink_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (bind(sink_fd, (struct sockaddr *)&to, sizeof to) < 0) { perror("sink bind"); return 1; }
    int tx = socket(AF_INET, SOCK_DGRAM, 0);
    if (connect(tx, (struct sockaddr *)&to, sizeof to) < 0) { perror("connect"); return 1; }

    static char payload[BURST][2048];
    struct mmsghdr msgs[BURST];
    struct iovec iov[BURST];
    memset(payload, 0xa5, sizeof payload);
    for (int i = 0; i < BURST; i++) {
        iov[i].iov_base = payload[i];
        iov[i].iov_len = (size_t)size;
        memset(&msgs[i], 0, sizeof msgs[i]);
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    pthread_t th;
    t_start = now_ns();
    pthread_create(&th, NULL, sink, NULL);
    uint64_t next = t_start, gap = rate ? 1000000000ULL / (uint64_t)rate : 0;
    while (load(&sent) < count && now_ns() - t_start < limit_ns) {
        uint64_t s = load(&sent);
        int n = rate ? 1 : (int)(count - s < BURST ? count - s : BURST);
        if (rate) {
            struct timespec ts = {.tv_sec = (time_t)(next / 1000000000ULL),
                                  .tv_nsec = (long)(next % 1000000000ULL)};
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
            next += gap;
        } else {
            wait_window((uint64_t)n);
        }
        uint64_t t = now_ns();
        for (int i = 0; i < n; i++) {
            uint64_t seq = s + (uint64_t)i;
            memcpy(payload[i], &seq, 8);
            memcpy(payload[i] + 8, &t, 8);
        }
        int r = sendmmsg(tx, msgs, (unsigned)n, 0);
        if (r < 0) { send_errors++; continue; }
        __atomic_add_fetch(&sent, (uint64_t)r, __ATOMIC_SEQ_CST);
    }
    t_send_end = now_ns();
    __atomic_store_n(&sender_done, 1, __ATOMIC_SEQ_CST);
    pthread_join(th, NULL);
    printf("{\"sent\": %llu, \"received\": %llu, \"seconds\": %.6f, \"send_seconds\": %.6f, "
           "\"first\": %.6f, \"stalls\": %llu, \"send_errors\": %llu",
           (unsigned long long)sent, (unsigned long long)received,
           t_first ? (double)(t_last - t_start) / 1e9 : 0.0, (double)(t_send_end - t_start) / 1e9,
           t_first ? (double)(t_first - t_start) / 1e9 : 0.0,
           (unsigned long long)stalls,
           (unsigned long long)send_errors);
    if (rate && nlat) {
        qsort(lat, nlat, sizeof *lat, cmp_u64);
        printf(", \"latency_us\": {\"n\": %llu, \"p50\": %.1f, \"p90\": %.1f, \"p99\": %.1f, "
               "\"max\": %.1f}", (unsigned long long)nlat, lat[nlat / 2] / 1e3,
               lat[nlat * 9 / 10] / 1e3, lat[nlat * 99 / 100] / 1e3, lat[nlat - 1] / 1e3);
    }
    printf("}\n");
    return 0;
}
'''

CONSUMER_C = r'''/* netring bench queue: the C reference consumer (no library).
 *
 * usage: consumer QUEUE BATCH [RCVBUF]
 *   BATCH <= 1: recv() one datagram, one NFQNL_MSG_VERDICT (NF_ACCEPT) per packet
 *   BATCH > 1:  recvmmsg() up to BATCH datagrams (MSG_WAITFORONE: what is there, at
 *               least one), then one NFQNL_MSG_VERDICT_BATCH for the highest id
 * Binds the queue with copy mode PACKET (0xffff bytes); SIGTERM/SIGINT end it, and it
 * prints one JSON line with its counts.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netlink.h>

#define NETLINK_NETFILTER_ 12
#define NFNL_SUBSYS_QUEUE 3
#define NFQNL_MSG_PACKET 0
#define NFQNL_MSG_VERDICT 1
#define NFQNL_MSG_CONFIG 2
#define NFQNL_MSG_VERDICT_BATCH 3
#define NFQA_PACKET_HDR 1
#define NFQA_VERDICT_HDR 2
#define NFQA_CFG_CMD 1
#define NFQA_CFG_PARAMS 2
#define NFQNL_CFG_CMD_BIND 1
#define NFQNL_COPY_PACKET 2
#define NF_ACCEPT 1
#define SLOT 65536

struct nfgenmsg_ { uint8_t family, version; uint16_t res_id; };

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static int fd;
static uint16_t queue;

static int put_attr(char *p, uint16_t type, const void *data, uint16_t len) {
    struct nlattr *a = (struct nlattr *)p;
    a->nla_len = (uint16_t)(NLA_HDRLEN + len);
    a->nla_type = type;
    memcpy(p + NLA_HDRLEN, data, len);
    return NLA_ALIGN(a->nla_len);
}

static int config(uint32_t seq, uint16_t attr, const void *data, uint16_t len) {
    char buf[256], ack[4096];
    memset(buf, 0, sizeof buf);
    struct nlmsghdr *nh = (struct nlmsghdr *)buf;
    struct nfgenmsg_ *g = (struct nfgenmsg_ *)NLMSG_DATA(nh);
    g->family = AF_UNSPEC;
    g->res_id = htons(queue);
    int off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof *g);
    off += put_attr(buf + off, attr, data, len);
    nh->nlmsg_len = (uint32_t)off;
    nh->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_CONFIG;
    nh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    nh->nlmsg_seq = seq;
    if (send(fd, buf, (size_t)off, 0) < 0) return -errno;
    ssize_t n = recv(fd, ack, sizeof ack, 0);
    if (n < (ssize_t)(NLMSG_HDRLEN + sizeof(int))) return -EIO;
    struct nlmsghdr *r = (struct nlmsghdr *)ack;
    if (r->nlmsg_type != NLMSG_ERROR) return -EIO;
    return ((struct nlmsgerr *)NLMSG_DATA(r))->error;
}

/* the packet id of one NFQNL_MSG_PACKET message, or 0 */
static uint32_t packet_id(const struct nlmsghdr *nh) {
    if (nh->nlmsg_type != ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET)) return 0;
    const char *p = (const char *)nh + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg_));
    const char *end = (const char *)nh + nh->nlmsg_len;
    while (p + NLA_HDRLEN <= end) {
        const struct nlattr *a = (const struct nlattr *)p;
        if (a->nla_len < NLA_HDRLEN || p + a->nla_len > end) break;
        if ((a->nla_type & NLA_TYPE_MASK) == NFQA_PACKET_HDR && a->nla_len >= NLA_HDRLEN + 4) {
            uint32_t id;
            memcpy(&id, p + NLA_HDRLEN, 4);
            return ntohl(id);
        }
        p += NLA_ALIGN(a->nla_len);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s QUEUE BATCH [RCVBUF]\n", argv[0]); return 2; }
    queue = (uint16_t)atoi(argv[1]);
    int batch = atoi(argv[2]);
    int rcvbuf = argc > 3 ? atoi(argv[3]) : 4 << 20;
    if (batch < 1) batch = 1;
    fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER_);
    if (fd < 0) { perror("socket"); return 1; }
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) { perror("bind"); return 1; }
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    uint8_t cmd[4] = {NFQNL_CFG_CMD_BIND, 0, 0, 0};
    int err = config(1, NFQA_CFG_CMD, cmd, sizeof cmd);
    if (err) { fprintf(stderr, "bind queue %u: %s\n", queue, strerror(-err)); return 1; }
    uint8_t params[5];
    uint32_t range = htonl(0xffff);
    memcpy(params, &range, 4);
    params[4] = NFQNL_COPY_PACKET;
    err = config(2, NFQA_CFG_PARAMS, params, sizeof params);
    if (err) { fprintf(stderr, "copy mode: %s\n", strerror(-err)); return 1; }

    struct sigaction act;
    memset(&act, 0, sizeof act);
    act.sa_handler = on_signal;          /* no SA_RESTART: a blocked receive returns EINTR */
    sigaction(SIGTERM, &act, NULL);
    sigaction(SIGINT, &act, NULL);

    /* the verdict message, built once: nlmsghdr, nfgenmsg, NFQA_VERDICT_HDR */
    char vmsg[64];
    memset(vmsg, 0, sizeof vmsg);
    struct nlmsghdr *vh = (struct nlmsghdr *)vmsg;
    struct nfgenmsg_ *vg = (struct nfgenmsg_ *)NLMSG_DATA(vh);
    vg->family = AF_UNSPEC;
    vg->res_id = htons(queue);
    int voff = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof *vg);
    uint32_t vhdr[2] = {htonl(NF_ACCEPT), 0};
    uint32_t *vid = (uint32_t *)(vmsg + voff + NLA_HDRLEN + 4);
    voff += put_attr(vmsg + voff, NFQA_VERDICT_HDR, vhdr, sizeof vhdr);
    vh->nlmsg_len = (uint32_t)voff;
    vh->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) |
                     (batch > 1 ? NFQNL_MSG_VERDICT_BATCH : NFQNL_MSG_VERDICT);
    vh->nlmsg_flags = NLM_F_REQUEST;

    unsigned long long verdicts = 0, receives = 0, sends = 0, enobufs = 0;
    char *bufs = malloc((size_t)batch * SLOT);
    struct mmsghdr *msgs = calloc((size_t)batch, sizeof *msgs);
    struct iovec *iov = calloc((size_t)batch, sizeof *iov);
    if (!bufs || !msgs || !iov) return 1;
    for (int i = 0; i < batch; i++) {
        iov[i].iov_base = bufs + (size_t)i * SLOT;
        iov[i].iov_len = SLOT;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    while (!stop) {
        int n;
        if (batch == 1) {
            ssize_t len = recv(fd, bufs, SLOT, 0);
            n = len < 0 ? -1 : 1;
            if (n == 1) msgs[0].msg_len = (unsigned)len;
        } else {
            n = recvmmsg(fd, msgs, (unsigned)batch, MSG_WAITFORONE, NULL);
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == ENOBUFS) { enobufs++; continue; }
            perror("receive");
            break;
        }
        receives++;
        uint32_t last = 0;
        unsigned long long got = 0;
        for (int i = 0; i < n; i++) {
            int len = (int)msgs[i].msg_len;
            for (struct nlmsghdr *nh = (struct nlmsghdr *)iov[i].iov_base; NLMSG_OK(nh, len);
                 nh = NLMSG_NEXT(nh, len)) {
                uint32_t id = packet_id(nh);
                if (!id) continue;
                got++;
                last = id;
                if (batch == 1) {
                    *vid = htonl(id);
                    if (send(fd, vmsg, (size_t)voff, 0) < 0) perror("verdict");
                    sends++;
                }
            }
        }
        if (batch > 1 && got) {
            *vid = htonl(last);
            if (send(fd, vmsg, (size_t)voff, 0) < 0) perror("batch verdict");
            sends++;
        }
        verdicts += got;
    }
    printf("{\"verdicts\": %llu, \"receives\": %llu, \"verdict_messages\": %llu, \"enobufs\": %llu}\n",
           verdicts, receives, sends, enobufs);
    return 0;
}
'''


# --------------------------------------------------------------------------- consumers in Python

RAW_PY = r'''
import errno, json, signal, socket, struct, sys
queue, batch = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)              # NETLINK_NETFILTER
s.bind((0, 0))
s.setsockopt(socket.SOL_SOCKET, 33, 4 << 20)                           # SO_RCVBUFFORCE

def config(seq, attr, value):                                          # NFQNL_MSG_CONFIG, acked
    a = struct.pack("=HH", 4 + len(value), attr) + value
    body = struct.pack("!BBH", 0, 0, queue) + a + bytes(-len(a) % 4)
    s.send(struct.pack("=IHHII", 16 + len(body), 0x0302, 0x5, seq, 0) + body)
    err = struct.unpack_from("=i", s.recv(4096), 16)[0]
    if err:
        raise OSError(-err, f"queue {queue}: {errno.errorcode.get(-err, err)}")

config(1, 1, struct.pack("!BBH", 1, 0, 0))                             # NFQA_CFG_CMD: BIND
config(2, 2, struct.pack("!IB", 0xFFFF, 2))                            # NFQA_CFG_PARAMS: COPY_PACKET
kind = 0x0301 if batch <= 1 else 0x0303                                # VERDICT / VERDICT_BATCH
verdict = bytearray(struct.pack("=IHHII", 32, kind, 1, 0, 0) + struct.pack("!BBH", 0, 0, queue)
                    + struct.pack("=HH", 12, 2) + struct.pack("!II", 1, 0))  # VERDICT_HDR ACCEPT

def stop(signum, frame):
    raise SystemExit

signal.signal(signal.SIGTERM, stop)
buf = bytearray(65536)
recv_into, send, DONTWAIT = s.recv_into, s.send, socket.MSG_DONTWAIT
count = receives = sends = enobufs = 0
try:
    while True:
        try:
            recv_into(buf)
        except OSError as e:
            if e.errno != errno.ENOBUFS:
                raise
            enobufs += 1
            continue
        receives += 1
        if buf[5] != 3 or buf[4] != 0:                                 # not NFQNL_MSG_PACKET
            continue
        n = 1
        while n < batch:                                               # batch: drain up to 64
            try:
                recv_into(buf, 0, DONTWAIT)
            except BlockingIOError:
                break
            except OSError as e:
                if e.errno != errno.ENOBUFS:
                    raise
                enobufs += 1
                break
            receives += 1
            n += 1
        verdict[28:32] = buf[24:28]      # the (last) id: NFQA_PACKET_HDR is the first attribute
        send(verdict)
        sends += 1
        count += n
finally:
    print(json.dumps({"verdicts": count, "receives": receives, "verdict_messages": sends,
                      "enobufs": enobufs}), flush=True)
'''
"""The raw Python baseline (``socket``, ``struct`` only): ``QUEUE BATCH`` on the command
line; batch 1 sends one verdict per packet, a larger batch drains the socket without
blocking (at most BATCH packets) and sends one ``NFQNL_MSG_VERDICT_BATCH``."""

NETFILTERQUEUE_PY = """\
import sys
from netfilterqueue import NetfilterQueue

nfqueue = NetfilterQueue()
nfqueue.bind(int(sys.argv[1]), lambda pkt: pkt.accept())
nfqueue.run()
"""
"""NetfilterQueue's accept-all, as its README writes it (one recv and one verdict per packet)."""

NETRING_COMPAT_PY = NETFILTERQUEUE_PY.replace(
    "from netfilterqueue import", "from netring.compat.netfilterqueue import")
""":data:`NETFILTERQUEUE_PY` with its import line swapped for netring's drop-in
(``netring.compat.netfilterqueue``); not a character else differs."""
assert NETRING_COMPAT_PY != NETFILTERQUEUE_PY

FNFQUEUE_PY = """\
import sys
import fnfqueue

conn = fnfqueue.Connection()
q = conn.bind(int(sys.argv[1]))
q.set_mode(fnfqueue.MAX_PAYLOAD, fnfqueue.COPY_PACKET)
while True:
    try:
        for packet in conn:
            packet.accept()
    except fnfqueue.BufferOverflowException:
        conn.reset()
"""
"""fnfqueue's documented loop (its README), accepting instead of mangling; the
``reset()`` its docstring asks for after an overflow (without it every later read
raises again, and the loop spins)."""


_NETRING_REPORT = """\
import json
import signal
import sys
from netring.subsystems.nfnetlink.edge.queue import Queue


def report(q):
    st = q.stats(kernel=False)
    print(json.dumps({"verdicts": sum(st.verdicts.values()), "receives": st.batches,
                      "verdict_messages": st.batch_messages + st.single_messages,
                      "enobufs": st.enobufs}), flush=True)


def stop(signum, frame):
    raise SystemExit


"""

NETRING_PACKETS_PY = _NETRING_REPORT + """\
q = Queue(int(sys.argv[1]), batch=int(sys.argv[2]))
signal.signal(signal.SIGTERM, stop)
try:
    for pkt in q.packets():
        pkt.accept()
finally:
    report(q)
"""
"""netring, one packet at a time: ``QUEUE BATCH``; batch 1 is one receive and one
verdict message per packet."""

NETRING_BATCHES_PY = _NETRING_REPORT + """\
q = Queue(int(sys.argv[1]), batch=int(sys.argv[2]),
          ring=sys.argv[3] if len(sys.argv) > 3 else None)
signal.signal(signal.SIGTERM, stop)
try:
    for batch in q.batches():
        batch.accept()
finally:
    report(q)
"""
"""netring's hot path: ``recvmmsg`` of up to BATCH packets, ``batch.accept()`` (one
``NFQNL_MSG_VERDICT_BATCH`` per receive when the packets are in order).  A third
argument reads from a netlink RX ring of that backend instead (``Queue(ring=...)``:
``uring``, io_uring-filled; ``user``, the recvmmsg filler); batch 1 is one verdict
message per packet."""

NETRING_RUN_PY = _NETRING_REPORT + """\
q = Queue(int(sys.argv[1]))
q.run(lambda pkt: pkt.accept())  # SIGTERM ends it (the queue is unbound)
report(q)
"""
"""netring written as NetfilterQueue's users write it: ``run(callback)``, every default."""

#: the module a netring entry needs in the tree being measured
NETRING_QUEUE_MODULE = "netring.subsystems.nfnetlink.edge.queue"
#: the module the drop-in's entry needs
NETRING_COMPAT_MODULE = "netring.compat.netfilterqueue"


# --------------------------------------------------------------------------- the consumer table

@dataclass(frozen=True)
class Consumer:
    """One consumer: a command line run in the namespace, and how to report it.

    Attributes:
        key: short unique name (JSON key).
        label: the row's text.
        argv: the command line; a token ``$NAME`` is replaced by :func:`consumer_argv`
            (see :data:`PLACEHOLDERS`).
        needs: what the entry needs: a peer from the cache venv (``netfilterqueue``,
            ``fnfqueue``), ``netring`` (netring's Queue in the tree being measured),
            or ``""``.
        todo: when not empty the entry is not run, and this line says why.
        latency: also measured at :data:`LATENCY_RATE` datagrams/s.
        single: for a batching consumer, the key of its single-verdict twin (the
            latency table shows what batching adds).
        seed: ``(path, batch)`` of the patch posting's nfqueue table this row fills
            (path ``"socket"`` or ``"ring"``, batch 0 = one verdict per packet).
    """

    key: str
    label: str
    argv: tuple[str, ...]
    needs: str = ""
    todo: str = ""
    latency: bool = False
    single: str = ""
    seed: tuple[str, int] | None = None


#: placeholders a consumer's command line may use, and what fills them
PLACEHOLDERS = {
    "$queue": "the queue number (QUEUE_NUM)",
    "$batch": "BATCH (64)",
    "$c_consumer": "the C consumer compiled for this run",
    "$python": "the interpreter running the benchmark (netring from its own sys.path)",
    "$peer_python": "the cache venv's interpreter (NetfilterQueue, fnfqueue)",
}

CONSUMERS: tuple[Consumer, ...] = (
    Consumer("c", "C reference: recv + one verdict per packet",
             ("$c_consumer", "$queue", "1"), latency=True),
    Consumer("c_batch64", "C batch-64: recvmmsg + one batch verdict",
             ("$c_consumer", "$queue", "$batch"), latency=True, single="c"),
    Consumer("netfilterqueue", "NetfilterQueue 1.1.0 (Cython, libnetfilter_queue)",
             ("$peer_python", "-c", NETFILTERQUEUE_PY, "$queue"), needs="netfilterqueue",
             latency=True),
    Consumer("netring_compat", "netring.compat.netfilterqueue (NetfilterQueue's code, "
             "import swapped)", ("$python", "-c", NETRING_COMPAT_PY, "$queue"),
             needs="netring_compat", latency=True),
    Consumer("fnfqueue", "fnfqueue 1.1.2 (cffi, recvmmsg reader thread)",
             ("$peer_python", "-c", FNFQUEUE_PY, "$queue"), needs="fnfqueue", latency=True),
    Consumer("py", "raw Python: recv_into + one verdict per packet",
             ("$python", "-c", RAW_PY, "$queue", "1"), latency=True),
    Consumer("py_batch64", "raw Python: recv_into until empty (<= 64) + one batch verdict",
             ("$python", "-c", RAW_PY, "$queue", "$batch"), latency=True, single="py"),
    Consumer("netring", "netring: packets(), batch 1 (one verdict per packet)",
             ("$python", "-c", NETRING_PACKETS_PY, "$queue", "1"), needs="netring",
             latency=True, seed=("socket", 0)),
    Consumer("netring_b10", "netring: batches(), batch 10",
             ("$python", "-c", NETRING_BATCHES_PY, "$queue", "10"), needs="netring",
             seed=("socket", 10)),
    Consumer("netring_b64", "netring: batches(), batch 64",
             ("$python", "-c", NETRING_BATCHES_PY, "$queue", "$batch"), needs="netring",
             latency=True, single="netring"),
    Consumer("netring_run", "netring: run(lambda pkt: pkt.accept()), defaults",
             ("$python", "-c", NETRING_RUN_PY, "$queue"), needs="netring", latency=True,
             single="netring"),
    Consumer("netring_ring", "netring: ring, one verdict per packet",
             ("$python", "-c", NETRING_BATCHES_PY, "$queue", "1", "uring"), needs="netring",
             seed=("ring", 0)),
    Consumer("netring_ring_b10", "netring: ring, batch 10",
             ("$python", "-c", NETRING_BATCHES_PY, "$queue", "10", "uring"), needs="netring",
             seed=("ring", 10)),
    Consumer("netring_ring_b64", "netring: ring (io_uring), batch 64",
             ("$python", "-c", NETRING_BATCHES_PY, "$queue", "$batch", "uring"),
             needs="netring"),
    Consumer("netring_filler_b64", "netring: ring (recvmmsg filler), batch 64",
             ("$python", "-c", NETRING_BATCHES_PY, "$queue", "$batch", "user"),
             needs="netring"),
)
"""Every consumer, in the order of the tables.  Adding one is one entry."""


def consumer_argv(c: Consumer, values: Mapping[str, str]) -> list[str]:
    """``c``'s command line with each ``$NAME`` token replaced from ``values``.

    Raises:
        KeyError: a placeholder without a value.
    """
    return [values[t] if t.startswith("$") else t for t in c.argv]


# --------------------------------------------------------------------------- peers (cache venv)

_PEERS = {
    # key: (pip requirement, module, Debian package its build needs)
    "netfilterqueue": (NETFILTERQUEUE, "netfilterqueue", "libnetfilter-queue-dev"),
    "fnfqueue": (FNFQUEUE, "fnfqueue", ""),
}


def _say(text: str) -> None:
    """Progress of the set-up, on stderr (the report stays on ``out``)."""
    print(f"netring bench queue: {text}", file=sys.stderr, flush=True)


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:200] if lines else "no output"


def _dpkg_installed(package: str) -> bool:
    try:
        r = subprocess.run(["dpkg-query", "-W", "-f", "${Status}", package],
                           capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0 and r.stdout.strip().endswith("install ok installed")


def _apt_install(package: str) -> str:
    """Install a Debian package with apt-get (an ``apt-get update`` first if the lists are
    stale); returns ``""`` or why not."""
    if not shutil.which("apt-get"):
        return f"{package} is not installed and there is no apt-get"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "-q", package]
    _say(f"installing the Debian package {package}: {shlex.join(cmd)}")
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    if r.returncode != 0:
        _say("apt-get update, then again")
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, text=True, env=env,
                       timeout=900)
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    return "" if r.returncode == 0 else f"apt-get install {package} failed: {_last_line(r.stderr)}"


def _peer_python(venv: str) -> str:
    return os.path.join(venv, "bin", "python")


def _importable(python: str, module: str) -> bool:
    try:
        return subprocess.run([python, "-c", f"import {module}"], capture_output=True,
                              timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def prepare_peers(install: bool = True) -> tuple[str, dict[str, str]]:
    """Make sure the peers are in the cache venv; returns (its python, {peer: why not}).

    The venv is made with this interpreter's ``venv`` module (the same CPython as
    netring's rows); NetfilterQueue's build needs ``libnetfilter-queue-dev``, which is
    installed with apt-get when missing (what it does is printed on stderr).
    """
    venv = peer_venv_dir()
    python = _peer_python(venv)
    missing: dict[str, str] = {}
    if not os.path.exists(python):
        if not install:
            return python, {k: f"not installed in {venv}" for k in _PEERS}
        _say(f"making the peers' venv {venv}")
        os.makedirs(os.path.dirname(venv), exist_ok=True)
        r = subprocess.run([sys.executable, "-m", "venv", venv], capture_output=True, text=True,
                           timeout=600)
        if r.returncode != 0:
            why = f"python -m venv {venv} failed: {_last_line(r.stderr)}"
            return python, {k: why for k in _PEERS}
    log = os.path.join(os.path.dirname(venv), "install.log")
    for key, (req, module, deb) in _PEERS.items():
        if _importable(python, module):
            continue
        if not install:
            missing[key] = f"not installed in {venv}"
            continue
        if deb and not _dpkg_installed(deb):
            why = _apt_install(deb)
            if why:
                missing[key] = why
                continue
        _say(f"pip install {req} into {venv} (log: {log})")
        with open(log, "a") as f:
            r = subprocess.run([python, "-m", "pip", "install", "-q", req], stdout=f,
                               stderr=subprocess.PIPE, text=True, timeout=1800)
            f.write(r.stderr)
        if r.returncode != 0 or not _importable(python, module):
            missing[key] = f"pip install {req} failed: {_last_line(r.stderr)}"
    return python, missing


# --------------------------------------------------------------------------- kernel counters

_QUEUE_FIELDS = ("queue", "portid", "waiting", "copy_mode", "copy_range", "queue_dropped",
                 "user_dropped", "id_sequence")


def parse_queue_stats(text: str) -> dict[int, dict[str, int]]:
    """``/proc/net/netfilter/nfnetlink_queue`` -> {queue number: its counters}.

    Each line: queue number, peer port id, packets waiting for a verdict, copy mode,
    copy range, queue-full drops, socket drops (``user_dropped``), the last packet
    id given, and a constant 1.
    """
    out: dict[int, dict[str, int]] = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) < len(_QUEUE_FIELDS) or not all(w.isdigit() for w in words):
            continue
        row = dict(zip(_QUEUE_FIELDS, (int(w) for w in words), strict=False))
        out[row["queue"]] = row
    return out


class _QueueFile:
    """The namespace's ``nfnetlink_queue`` file, opened from inside it, read again on demand."""

    def __init__(self, ns: str) -> None:
        self.ns = ns
        self.fd = -1

    def read(self) -> dict[int, dict[str, int]]:
        if self.fd < 0:
            from ...netns import netns_path, run_in_netns

            try:
                self.fd = run_in_netns(netns_path(self.ns), os.open,
                                       "/proc/thread-self/net/netfilter/nfnetlink_queue",
                                       os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:  # nfnetlink_queue not loaded yet: the first bind loads it
                return {}
        os.lseek(self.fd, 0, os.SEEK_SET)
        chunks = []
        while True:
            b = os.read(self.fd, 65536)
            if not b:
                break
            chunks.append(b)
        return parse_queue_stats(b"".join(chunks).decode())

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _cpu_seconds(pid: int) -> float:
    """CPU seconds process ``pid`` has run, all its threads (user and system).

    The sum of ``/proc/PID/task/*/schedstat``'s first field (nanoseconds on the CPU);
    where that is missing, ``utime + stime`` from ``/proc/PID/stat`` (clock ticks).
    """
    total = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(FileNotFoundError):  # a thread that just ended
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    total += int(f.read().split()[0])
        return total / 1e9
    except (OSError, ValueError, IndexError):
        pass
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    fields = text[text.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- one measurement

def _sh(*args: str) -> None:
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"{shlex.join(args)}: {_last_line(r.stderr)}")


class _Rig:
    """The namespace, the compiled programs and the values for the consumers' placeholders."""

    def __init__(self, ns: str, tmp: str, values: dict[str, str], env: dict[str, str],
                 pin: tuple[int, int] | None) -> None:
        self.ns = ns
        self.tmp = tmp
        self.values = values
        self.env = env
        self.pin = pin  # (traffic CPU, consumer CPU) or None
        self.stats = _QueueFile(ns)
        self.traffic = os.path.join(tmp, "traffic")

    def _exec(self, argv: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.ns, *argv]

    def _affinity(self, cpu: int | None) -> Any:
        if cpu is None:
            return None

        def set_cpu() -> None:
            os.sched_setaffinity(0, {cpu})

        return set_cpu

    def traffic_run(self, port: int, size: int, count: int, seconds: float,
                    rate: int = 0) -> dict[str, Any]:
        argv = [self.traffic, str(port), str(size), str(count), f"{seconds:.3f}", str(WINDOW),
                str(rate)]
        u0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        r = subprocess.run(self._exec(argv), capture_output=True, text=True,
                           timeout=seconds + 30,
                           preexec_fn=self._affinity(self.pin[0] if self.pin else None))
        u1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if r.returncode != 0:
            raise RuntimeError(f"traffic: {_last_line(r.stderr)}")
        res: dict[str, Any] = json.loads(r.stdout.strip().splitlines()[-1])
        res["cpu_s"] = (u1.ru_utime + u1.ru_stime) - (u0.ru_utime + u0.ru_stime)
        return res

    def _wait_unbound(self, timeout: float = 5.0) -> None:
        end = time.monotonic() + timeout
        while QUEUE_NUM in self.stats.read() and time.monotonic() < end:
            time.sleep(0.01)

    @contextlib.contextmanager
    def consumer(self, c: Consumer) -> Iterator[tuple[subprocess.Popen[str], dict[str, Any]]]:
        """Start ``c``, wait until it has bound the queue (copy mode PACKET), yield it and
        a dict that gets its exit report; SIGTERM (then SIGKILL) at the end."""
        self._wait_unbound()
        argv = self._exec(consumer_argv(c, self.values))
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=self.env,
                                preexec_fn=self._affinity(self.pin[1] if self.pin else None))
        report: dict[str, Any] = {}
        try:
            end = time.monotonic() + 30
            while True:
                row = self.stats.read().get(QUEUE_NUM)
                if row is not None and row["copy_mode"] == 2:
                    break
                if proc.poll() is not None or time.monotonic() > end:
                    proc.kill()
                    _, err = proc.communicate(timeout=10)
                    raise RuntimeError(f"{c.key} did not bind queue {QUEUE_NUM}: "
                                       f"{_last_line(err)}")
                time.sleep(0.01)
            time.sleep(0.05)  # bound and configured: let it reach its receive call
            yield proc, report
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                outs, errs = proc.communicate(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                outs, errs = proc.communicate(timeout=5)
            lines = (outs or "").strip().splitlines()
            if lines and lines[-1].startswith("{"):
                with contextlib.suppress(ValueError):
                    report.update(json.loads(lines[-1]))
            if errs and errs.strip():
                report["stderr"] = _last_line(errs)

    def measure(self, c: Consumer, size: int, count: int, seconds: float,
                rate: int = 0) -> dict[str, Any]:
        """One traffic run through consumer ``c``: rates, CPU, kernel counters."""
        with self.consumer(c) as (proc, report):
            k0 = self.stats.read().get(QUEUE_NUM, {})
            cpu0 = _cpu_seconds(proc.pid)
            t = self.traffic_run(PORT, size, count, seconds, rate)
            cpu1 = _cpu_seconds(proc.pid)
            k1 = self.stats.read().get(QUEUE_NUM, {})
        secs = float(t["seconds"])
        cpu = cpu1 - cpu0

        def delta(name: str) -> int:
            return int(k1.get(name, 0)) - int(k0.get(name, 0))

        res: dict[str, Any] = {
            "sent": t["sent"], "reached_sink": t["received"], "seconds": round(secs, 4),
            "verdicts_per_s": round(t["received"] / secs) if secs else 0,
            "consumer_cpu_s": round(cpu, 3),
            "verdicts_per_cpu_s": round(t["received"] / cpu) if cpu > 0 else None,
            "queued": delta("id_sequence"), "queue_dropped": delta("queue_dropped"),
            "socket_dropped": delta("user_dropped"), "waiting_at_end": int(k1.get("waiting", 0)),
            "stalls": t["stalls"],
            "traffic_cpu_s": round(t["cpu_s"], 3),
        }
        if "verdicts" in report:
            res["consumer_count"] = report["verdicts"]
            if report.get("receives"):
                res["consumer_receives"] = report["receives"]
            if report.get("verdict_messages"):
                res["verdict_messages"] = report["verdict_messages"]
                res["per_verdict_message"] = round(report["verdicts"]
                                                   / report["verdict_messages"], 2)
        if "latency_us" in t:
            res["latency_us"] = t["latency_us"]
        if report.get("stderr"):
            res["stderr"] = report["stderr"]
        return res

    def close(self) -> None:
        self.stats.close()


def _compile(tmp: str) -> None:
    for name, src, extra in (("traffic", TRAFFIC_C, ["-pthread"]), ("consumer", CONSUMER_C, [])):
        path = os.path.join(tmp, f"{name}.c")
        with open(path, "w") as f:
            f.write(src)
        r = subprocess.run(["gcc", "-O2", "-o", os.path.join(tmp, name), path, *extra],
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise RuntimeError(f"gcc {name}.c: {_last_line(r.stderr)}")


def _child_env() -> dict[str, str]:
    """The environment of the consumers: netring from the tree being measured first on
    ``PYTHONPATH`` (the peers' venv ignores it: nothing of netring is imported there)."""
    import netring

    src = os.path.dirname(os.path.dirname(os.path.abspath(netring.__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [src] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return env


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """A SIGTERM during the run cleans up like Ctrl-C (only from the main thread)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


# --------------------------------------------------------------------------- the run

def _loadavg() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def _have_module(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False


def _have_netring_queue() -> bool:
    return _have_module(NETRING_QUEUE_MODULE)


def _why_not_runnable() -> str:
    if os.geteuid() != 0:
        return "needs root (creates a network namespace and an iptables rule in it)"
    for tool, what in (("ip", "iproute2"), ("iptables", "iptables"), ("gcc", "gcc")):
        if not shutil.which(tool):
            return f"needs {tool} ({what})"
    return ""


def run(quick: bool = False, out: TextIO | None = sys.stdout, *, rounds: int | None = None,
        count: int | None = None, seconds: float | None = None, install_peers: bool = True,
        pin: bool = False, only: Sequence[str] | None = None) -> dict[str, Any]:
    """Run every consumer in :data:`CONSUMERS` (or ``only`` those keys) at both sizes,
    then the latency runs; print the tables; return the figures as a JSON-able dict."""
    why = _why_not_runnable()
    if why:
        msg = f"netring bench queue: {why}"
        if out is not None:
            print(msg, file=out)
        return {"error": msg}
    rounds = rounds or (1 if quick else ROUNDS)
    count = count or (40_000 if quick else 400_000)
    seconds = seconds or (1.0 if quick else 4.0)
    lat_count = 300 if quick else 3000
    chosen = [c for c in CONSUMERS if only is None or c.key in only]
    result: dict[str, Any] = {
        "benchmark": "queue", "machine": machine(), "command": command_line(),
        "sizes": list(SIZES), "count": count, "seconds_cap": seconds, "window": WINDOW,
        "rounds": rounds, "batch": BATCH, "latency_rate": LATENCY_RATE,
        "latency_count": lat_count, "queue": QUEUE_NUM, "pinned": pin,
        "consumers": {}, "skipped": {}, "latency": {}, "load_average": _loadavg(),
    }
    skipped: dict[str, str] = result["skipped"]
    for c in chosen:
        if c.todo:
            skipped[c.key] = c.todo
    if any(c.needs in _PEERS and not c.todo for c in chosen):
        peer_python, missing = prepare_peers(install_peers)
    else:
        peer_python, missing = _peer_python(peer_venv_dir()), {}
    if not _have_netring_queue():
        missing["netring"] = f"{NETRING_QUEUE_MODULE} is not in this netring tree"
    else:
        import importlib

        nq = importlib.import_module(NETRING_QUEUE_MODULE)
        result["netring_default_window"] = getattr(nq, "DEFAULT_WINDOW", None)
    if not _have_module(NETRING_COMPAT_MODULE):
        missing["netring_compat"] = f"{NETRING_COMPAT_MODULE} is not in this netring tree"
    for c in chosen:
        if c.needs and c.needs in missing and c.key not in skipped:
            skipped[c.key] = missing[c.needs]
    runnable = [c for c in chosen if c.key not in skipped]
    ns = f"nrbench-queue-{os.getpid()}"
    tmp = tempfile.mkdtemp(prefix="netring-bench-queue-")
    values = {"$queue": str(QUEUE_NUM), "$batch": str(BATCH),
              "$c_consumer": os.path.join(tmp, "consumer"), "$python": sys.executable,
              "$peer_python": peer_python}
    cpus = sorted(os.sched_getaffinity(0))
    rig = _Rig(ns, tmp, values, _child_env(),
               (cpus[0], cpus[1]) if pin and len(cpus) >= 2 else None)
    figures: dict[str, dict[str, list[dict[str, Any]]]] = {
        c.key: {str(s): [] for s in SIZES} for c in runnable}
    try:
        with _sigterm_as_interrupt():
            _compile(tmp)
            _sh("ip", "netns", "add", ns)
            _sh("ip", "-n", ns, "link", "set", "lo", "up")
            _sh("ip", "netns", "exec", ns, "iptables", "-A", "OUTPUT", "-o", "lo", "-p", "udp",
                "--dport", str(PORT), "-j", "NFQUEUE", "--queue-num", str(QUEUE_NUM))
            for _ in range(rounds):
                for size in SIZES:
                    for c in runnable:
                        _say(f"{c.key}, {size} B")
                        try:
                            figures[c.key][str(size)].append(
                                rig.measure(c, size, count, seconds))
                        except RuntimeError as exc:
                            skipped.setdefault(c.key, f"failed: {exc}")
            for c in runnable:
                if c.latency and c.key not in skipped:
                    _say(f"{c.key}, latency at {LATENCY_RATE}/s")
                    try:
                        m = rig.measure(c, SIZES[0], lat_count, lat_count / LATENCY_RATE + 5,
                                        rate=LATENCY_RATE)
                        result["latency"][c.key] = m.get("latency_us", {})
                    except RuntimeError as exc:
                        skipped.setdefault(c.key, f"failed: {exc}")
    finally:
        rig.close()
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    for key, per_size in figures.items():
        if key in skipped:
            continue
        kept: dict[str, dict[str, Any]] = {}
        for sz, runs in per_size.items():
            if runs:
                kept[sz] = dict(max(runs, key=lambda r: r["verdicts_per_s"]))
                kept[sz]["rounds"] = [r["verdicts_per_s"] for r in runs]
        result["consumers"][key] = kept
    result["ratios"] = _ratios(result)
    if out is not None:
        _report(out, result, chosen)
    return result


def _ratios(result: Mapping[str, Any]) -> dict[str, dict[str, dict[str, float]]]:
    """Per consumer and size: its rate and its verdicts per CPU-second over
    NetfilterQueue's and over C batch-64's, the same run."""
    cons = result["consumers"]
    out: dict[str, dict[str, dict[str, float]]] = {}
    for key, per_size in cons.items():
        for size, r in per_size.items():
            d: dict[str, float] = {}
            for ref, name in (("netfilterqueue", "netfilterqueue"), ("c_batch64", "c_batch64")):
                base = cons.get(ref, {}).get(size)
                if not base:
                    continue
                if base["verdicts_per_s"]:
                    d[f"rate_vs_{name}"] = round(r["verdicts_per_s"] / base["verdicts_per_s"], 3)
                if base.get("verdicts_per_cpu_s") and r.get("verdicts_per_cpu_s"):
                    d[f"cpu_vs_{name}"] = round(r["verdicts_per_cpu_s"]
                                                / base["verdicts_per_cpu_s"], 3)
            out.setdefault(key, {})[size] = d
    return out


# --------------------------------------------------------------------------- the report

def _k(x: float | None) -> str:
    return "-" if x is None else f"{x / 1e3:.1f} k"


def _x(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}x"


def _report(out: TextIO, result: Mapping[str, Any], chosen: Sequence[Consumer]) -> None:
    cons, ratios, skipped = result["consumers"], result["ratios"], result["skipped"]
    for size in (str(s) for s in SIZES):
        rows: list[tuple[str, ...]] = []
        for c in chosen:
            r = cons.get(c.key, {}).get(size)
            if r is None:
                continue
            q = ratios.get(c.key, {}).get(size, {})
            drops = r["queue_dropped"] + r["socket_dropped"]
            busy = r["traffic_cpu_s"] / r["seconds"] * 100 if r["seconds"] else 0
            rows.append((c.label, _k(r["verdicts_per_s"]), _k(r.get("verdicts_per_cpu_s")),
                         _x(q.get("rate_vs_netfilterqueue")), _x(q.get("rate_vs_c_batch64")),
                         _x(q.get("cpu_vs_netfilterqueue")), _x(q.get("cpu_vs_c_batch64")),
                         f"{r['per_verdict_message']:.1f}" if r.get("per_verdict_message")
                         else "-",
                         str(drops), f"{busy:.0f} %"))
        title = (f"nfnetlink_queue accept-all, {size}-byte UDP datagrams, one consumer; "
                 f"{result['count']} per run (at most {result['seconds_cap']:g} s), "
                 f"best of {result['rounds']}")
        print_table(out, title, rows,
                    ("consumer", "verdicts/s", "per CPU-s", "rate/NFQ", "rate/C64",
                     "CPU/NFQ", "CPU/C64", "per verdict", "drops", "traffic CPU"),
                    first=size == str(SIZES[0]))
    seed = [c for c in chosen if c.seed]
    if any(c.key in cons for c in seed):
        size = str(SIZES[-1])
        rows = []
        base: dict[str, float] = {}
        for c in sorted(seed, key=lambda c: (c.seed or ("", 0))[1]):
            assert c.seed is not None
            path, batch = c.seed
            then = SEED_TABLE_MBIT[(path, batch)]
            then_x = then / SEED_TABLE_MBIT[(path, 0)]
            r = cons.get(c.key, {}).get(size)
            if r is None:
                rows.append((f"{path}, batch {batch}", "not run", "", "", f"{then} Mbit/s",
                             f"{then_x:.2f}x"))
                continue
            mbit = r["verdicts_per_s"] * int(size) * 8 / 1e6
            if batch == 0:
                base[path] = mbit
            now_x = f"{mbit / base[path]:.2f}x" if path in base and base[path] else "-"
            rows.append((f"{path}, batch {batch}", f"{mbit:.0f} Mbit/s", _k(r["verdicts_per_s"]),
                         now_x, f"{then} Mbit/s", f"{then_x:.2f}x"))
        print_table(out, f"The shape of the netlink mmap posting's nfqueue table: netring, "
                    f"{size}-byte UDP, payload Mbit/s (the posting: 8 cores, 4 queues, Snort "
                    f"inline, 2012)", rows,
                    ("receive, verdict batch", "netring", "verdicts/s", "vs batch 0", "posting",
                     "vs batch 0"))
    lat = result["latency"]
    if lat:
        rows = []
        for c in chosen:
            r = lat.get(c.key)
            if not r:
                continue
            added = ""
            twin = lat.get(c.single) if c.single else None
            if twin:
                added = (f"{r['p50'] - twin['p50']:+.1f} / {r['p99'] - twin['p99']:+.1f} "
                         f"vs {c.single}")
            rows.append((c.label, f"{r['p50']:.1f}", f"{r['p90']:.1f}", f"{r['p99']:.1f}",
                         added))
        print_table(out, f"Latency, send to sink, {SIZES[0]}-byte datagrams at "
                    f"{result['latency_rate']}/s ({result['latency_count']} per consumer), us",
                    rows, ("consumer", "p50", "p90", "p99", "batch adds p50 / p99"))
    load = result.get("load_average")
    print(f"\nclosed loop: at most {result['window']} datagrams between send and sink; "
          f"the sink is a thread of the sender's program; iptables OUTPUT -o lo "
          f"-j NFQUEUE in a private namespace"
          + ("; consumer and traffic pinned to one CPU each" if result["pinned"] else "")
          + (f"; 1-minute load average {load:.2f} at the start" if load is not None else ""),
          file=out)
    if result.get("netring_default_window"):
        print(f"netring's default in-flight window: {result['netring_default_window']} packets "
              f"awaiting a verdict (Queue(window=...); above the {result['window']} this "
              f"traffic keeps in flight)", file=out)
    for key, why in skipped.items():
        label = next((c.label for c in chosen if c.key == key), key)
        print(f"not run: {label}: {why}", file=out)
    print_footer(out, result)
