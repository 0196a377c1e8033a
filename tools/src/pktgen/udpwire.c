/*
 * udpwire: a stand-in for a pktmetal guest, so pktgen can be tested without
 * QEMU. It speaks QEMU's `-netdev dgram` convention from the guest side: NIC
 * IDX binds 127.0.0.1:GUEST_PORT (frames for the guest arrive there) and
 * sends the guest's frames to 127.0.0.1:HOST_PORT, where pktgen listens.
 *
 *   pktgen port A --> GUEST_A [udpwire: --link A=B, impairments] GUEST_B --> pktgen port B
 *
 * Impairments count frames over the whole wire, 1-based: --drop-every N
 * drops frames N, 2N, ...; --corrupt-every N flips the last byte;
 * --dup-every N sends the frame twice; --reorder-every N holds the frame back
 * and sends it after the next frame for the same NIC (or after 5 ms, when
 * none comes). --smac/--dmac rewrite the MACs like l2fwd. On exit (SIGTERM,
 * SIGINT or --timeout) it prints what it did, so a test can compare:
 *
 *   udpwire: received N forwarded N dropped N corrupted N duplicated N reordered N
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_NICS       16
#define BURST          32
#define SLOT_BYTES     10240
#define HOLD_MAX_NS    5000000ull

struct held_frame {
	bool valid;
	uint64_t since_ns;
	uint32_t len;
	uint8_t buf[SLOT_BYTES];
};

struct nic {
	bool defined;
	uint16_t host_port, guest_port;
	int link_to;                /* -1: frames arriving here are dropped */
	int fd;
	struct sockaddr_in host_addr;
	struct held_frame held;
};

struct wire {
	struct nic nics[MAX_NICS];
	uint64_t drop_every, corrupt_every, dup_every, reorder_every;
	bool drop_all;
	bool rewrite_smac, rewrite_dmac;
	uint8_t smac[6], dmac[6];
	double timeout_s;
	uint64_t received, forwarded, dropped, corrupted, duplicated, reordered;
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int usage(const char *why)
{
	if (why)
		fprintf(stderr, "udpwire: %s\n", why);
	fprintf(why ? stderr : stdout,
		"usage: udpwire --nic IDX=HOST_PORT:GUEST_PORT ... --link A=B ... [--drop-every N]\n"
		"               [--corrupt-every N] [--dup-every N] [--reorder-every N] [--drop-all]\n"
		"               [--smac MAC] [--dmac MAC] [--timeout S]\n");
	return 2;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned b[6];
	char tail;

	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

static int parse_nic(struct wire *w, const char *arg)
{
	unsigned idx, host, guest;
	char tail;

	if (sscanf(arg, "%u=%u:%u%c", &idx, &host, &guest, &tail) != 3 || idx >= MAX_NICS ||
	    !host || host > 65535 || !guest || guest > 65535)
		return -1;
	w->nics[idx] = (struct nic){ .defined = true, .host_port = (uint16_t)host,
				     .guest_port = (uint16_t)guest, .link_to = -1, .fd = -1 };
	return 0;
}

static int parse_link(struct wire *w, const char *arg)
{
	unsigned a, b;
	char tail;

	if (sscanf(arg, "%u=%u%c", &a, &b, &tail) != 2 || a >= MAX_NICS || b >= MAX_NICS)
		return -1;
	w->nics[a].link_to = (int)b;
	return 0;
}

static int parse_every(const char *arg, uint64_t *out)
{
	char *end;

	*out = strtoull(arg, &end, 10);
	return *end || *out == 0 ? -1 : 0;
}

static int parse_args(struct wire *w, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "nic", 1, NULL, 'n' }, { "link", 1, NULL, 'l' }, { "drop-every", 1, NULL, 'd' },
		{ "corrupt-every", 1, NULL, 'c' }, { "dup-every", 1, NULL, 'u' },
		{ "reorder-every", 1, NULL, 'r' }, { "drop-all", 0, NULL, 'D' },
		{ "smac", 1, NULL, 's' }, { "dmac", 1, NULL, 'm' }, { "timeout", 1, NULL, 't' },
		{ "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	int opt, bad = 0;

	w->timeout_s = 60;
	for (int i = 0; i < MAX_NICS; i++)
		w->nics[i].link_to = -1;
	while (!bad && (opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'n': bad = parse_nic(w, optarg); break;
		case 'l': bad = parse_link(w, optarg); break;
		case 'd': bad = parse_every(optarg, &w->drop_every); break;
		case 'c': bad = parse_every(optarg, &w->corrupt_every); break;
		case 'u': bad = parse_every(optarg, &w->dup_every); break;
		case 'r': bad = parse_every(optarg, &w->reorder_every); break;
		case 'D': w->drop_all = true; break;
		case 's': bad = parse_mac(optarg, w->smac); w->rewrite_smac = true; break;
		case 'm': bad = parse_mac(optarg, w->dmac); w->rewrite_dmac = true; break;
		case 't': w->timeout_s = strtod(optarg, NULL); bad = w->timeout_s <= 0; break;
		case 'h': usage(NULL); exit(0);
		default: bad = 1;
		}
	}
	if (bad || optind != argc)
		return usage("bad arguments");
	for (int i = 0; i < MAX_NICS; i++)
		if (w->nics[i].link_to >= 0 && (!w->nics[i].defined || !w->nics[w->nics[i].link_to].defined))
			return usage("--link names an undefined --nic");
	return 0;
}

static int open_nic(struct nic *n)
{
	struct sockaddr_in local = { .sin_family = AF_INET, .sin_port = htons(n->guest_port),
				     .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int bytes = 32 << 20;

	n->host_addr = local;
	n->host_addr.sin_port = htons(n->host_port);
	n->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (n->fd < 0)
		return -1;
	if (setsockopt(n->fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)))
		setsockopt(n->fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
	if (bind(n->fd, (struct sockaddr *)&local, sizeof(local))) {
		fprintf(stderr, "udpwire: bind 127.0.0.1:%u: %s\n", n->guest_port, strerror(errno));
		return -1;
	}
	return 0;
}

static void send_frame(struct wire *w, struct nic *out, const uint8_t *buf, uint32_t len)
{
	if (sendto(out->fd, buf, len, 0, (struct sockaddr *)&out->host_addr, sizeof(out->host_addr)) == (ssize_t)len)
		w->forwarded++;
}

static void release_held(struct wire *w, struct nic *out, bool overtaken)
{
	if (!out->held.valid)
		return;
	out->held.valid = false;
	w->reordered += overtaken;
	send_frame(w, out, out->held.buf, out->held.len);
}

static bool every(uint64_t n, uint64_t period)
{
	return period && n % period == 0;
}

/* Applies the impairments to frame number n (1-based) and forwards it. */
static void forward(struct wire *w, struct nic *out, uint8_t *buf, uint32_t len, uint64_t n)
{
	if (w->drop_all || every(n, w->drop_every)) {
		w->dropped++;
		return;
	}
	if (every(n, w->corrupt_every) && len) {
		buf[len - 1] ^= 0xff;
		w->corrupted++;
	}
	if (w->rewrite_dmac && len >= 12)
		memcpy(buf, w->dmac, 6);
	if (w->rewrite_smac && len >= 12)
		memcpy(buf + 6, w->smac, 6);
	if (every(n, w->reorder_every) && !out->held.valid && len <= SLOT_BYTES) {
		out->held = (struct held_frame){ .valid = true, .since_ns = mono_ns(), .len = len };
		memcpy(out->held.buf, buf, len);
		return;
	}
	send_frame(w, out, buf, len);
	if (every(n, w->dup_every)) {
		send_frame(w, out, buf, len);
		w->duplicated++;
	}
	release_held(w, out, true);
}

static void drain_nic(struct wire *w, struct nic *in)
{
	static uint8_t bufs[BURST][SLOT_BYTES];
	struct mmsghdr msgs[BURST];
	struct iovec iov[BURST];
	int n;

	for (int i = 0; i < BURST; i++) {
		iov[i] = (struct iovec){ bufs[i], SLOT_BYTES };
		msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1 };
	}
	n = recvmmsg(in->fd, msgs, BURST, MSG_DONTWAIT, NULL);
	for (int i = 0; i < n; i++) {
		w->received++;
		if (in->link_to < 0)
			w->dropped++;
		else
			forward(w, &w->nics[in->link_to], bufs[i], msgs[i].msg_len, w->received);
	}
}

static void release_stale(struct wire *w, uint64_t now_ns)
{
	for (int i = 0; i < MAX_NICS; i++)
		if (w->nics[i].held.valid && now_ns - w->nics[i].held.since_ns >= HOLD_MAX_NS)
			release_held(w, &w->nics[i], false);
}

static void run(struct wire *w)
{
	struct pollfd fds[MAX_NICS];
	int nic_of[MAX_NICS], nb = 0;
	uint64_t deadline = mono_ns() + (uint64_t)(w->timeout_s * 1e9);

	for (int i = 0; i < MAX_NICS; i++) {
		if (!w->nics[i].defined)
			continue;
		fds[nb] = (struct pollfd){ .fd = w->nics[i].fd, .events = POLLIN };
		nic_of[nb++] = i;
	}
	while (!stop_requested && mono_ns() < deadline) {
		int r = poll(fds, (nfds_t)nb, 1);
		for (int i = 0; r > 0 && i < nb; i++)
			if (fds[i].revents & POLLIN)
				drain_nic(w, &w->nics[nic_of[i]]);
		release_stale(w, mono_ns());
	}
	for (int i = 0; i < MAX_NICS; i++)
		release_held(w, &w->nics[i], false);
}

int main(int argc, char **argv)
{
	static struct wire w;
	struct sigaction sa = { .sa_handler = on_signal };

	if (parse_args(&w, argc, argv))
		return 2;
	for (int i = 0; i < MAX_NICS; i++)
		if (w.nics[i].defined && open_nic(&w.nics[i]))
			return 1;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	printf("udpwire: ready\n");
	fflush(stdout);
	run(&w);
	printf("udpwire: received %llu forwarded %llu dropped %llu corrupted %llu duplicated %llu reordered %llu\n",
	       (unsigned long long)w.received, (unsigned long long)w.forwarded, (unsigned long long)w.dropped,
	       (unsigned long long)w.corrupted, (unsigned long long)w.duplicated, (unsigned long long)w.reordered);
	return 0;
}
