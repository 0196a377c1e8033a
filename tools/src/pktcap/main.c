/*
 * pktcap main: set up, start the capture, receive until told to stop, stop
 * the capture, report.
 *
 *   set_up          options, filter, run file, output, UDP socket, control
 *   capture_begin   "capture start ..." -> "capture: ok started ..." (5 s,
 *                   --reply-timeout)
 *   run_loop        poll UDP + control; stop on signal, -c, --duration,
 *                   --timeout, a closed output or a lost control channel
 *   capture_end     "capture stop" -> "capture: ok stopped captured=N ..."
 *                   (same timeout, still taking copies), then copies in flight
 *                   until the socket stays quiet for DRAIN_QUIET_NS
 *   report_summary  on stderr (report.c)
 *
 * The UDP socket is bound before the start command goes out, so the first
 * copy cannot arrive at a closed port. The control socket is read all the
 * time, also when no reply is due (control.c says why).
 */
#include "pktcap.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_SLEEP_NS     100000000ull   /* re-check deadlines and signals every 100 ms */
#define DRAIN_QUIET_NS   200000000ull   /* after the stop reply: copies still in flight */
#define DRAIN_MAX_NS     2000000000ull
#define RX_BATCH         256            /* datagrams per turn before looking at the rest */
#define RX_BUF_BYTES     65536          /* the largest UDP datagram fits */
#define REPLY_BYTES      1024

static volatile sig_atomic_t signalled;

static void on_signal(int sig)
{
	(void)sig;
	signalled = 1;
}

/*
 * A repeated signal changes nothing: stopping is bounded (the reply timeout,
 * DRAIN_MAX_NS for stragglers), and timeout(1) delivers its signal twice
 * (to the child, then to the process group).
 */
static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);          /* a closed -w - reader is EPIPE, handled */
}

uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t seconds_ns(double s)
{
	return (uint64_t)(s * 1e9);
}

/* --- output ----------------------------------------------------------------- */

static int cmp_port(const void *a, const void *b)
{
	const struct pc_port *pa = a, *pb = b;

	return (int)pa->index - (int)pb->index;
}

static int add_iface(struct pktcap *pc, uint16_t port)
{
	const struct pc_port *info = runfile_port(pc, port);
	char name[16];
	int id;

	snprintf(name, sizeof(name), "port%u", port);
	id = pcapng_add_iface(pc->out, name, info ? info->model : NULL,
			      info && info->has_mac ? info->mac : NULL, pc->snap_in_use);
	if (id >= 0)
		pc->iface_of_port[port] = id;
	return id;
}

/*
 * SHB, then one IDB per port the run file lists, in port order, then ports
 * named by -i that it does not list. Any other port gets its IDB when its
 * first packet arrives (see pcapng.c).
 */
static int write_headers(struct pktcap *pc)
{
	int rc = pcapng_write_shb(pc->out);

	qsort(pc->ports, (size_t)pc->nb_ports, sizeof(pc->ports[0]), cmp_port);
	for (int i = 0; rc >= 0 && i < pc->nb_ports; i++)
		rc = add_iface(pc, pc->ports[i].index);
	for (int i = 0; rc >= 0 && i < pc->nb_sel_ports; i++)
		if (pc->iface_of_port[pc->sel_ports[i]] < 0)
			rc = add_iface(pc, pc->sel_ports[i]);
	if (rc < 0)
		fprintf(stderr, "pktcap: -w %s: %s\n", pc->write_path, strerror(-rc));
	return rc < 0 ? -1 : 0;
}

/* A reader that went away (EPIPE) ends the capture quietly; other errors fail it. */
static void output_failed(struct pktcap *pc, int err)
{
	if (err == EPIPE) {
		pc->out_closed = true;
		if (pc->stop == PC_STOP_NONE)
			pc->stop = PC_STOP_OUTPUT_CLOSED;
		return;
	}
	fprintf(stderr, "pktcap: %s: %s\n", pc->write_path ? pc->write_path : "stdout",
		strerror(err));
	pc->out_error = true;
	if (pc->stop == PC_STOP_NONE)
		pc->stop = PC_STOP_OUTPUT_ERROR;
}

static void emit(struct pktcap *pc, const struct pc_frame *f)
{
	const char *reason = drop_name(f->drop_reason);
	char comment[64];
	int iface, rc;

	if (!pc->out) {
		print_frame(stdout, f);
		if (fflush(stdout))
			output_failed(pc, errno);
		else
			pc->c.written++;
		return;
	}
	iface = pc->iface_of_port[f->port];
	if (iface < 0 && (iface = add_iface(pc, f->port)) < 0) {
		output_failed(pc, -iface);
		return;
	}
	if (f->point == PC_POINT_DROP && reason)
		snprintf(comment, sizeof(comment), "drop: %s", reason);
	else if (f->point == PC_POINT_DROP)
		snprintf(comment, sizeof(comment), "drop: reason %u", f->drop_reason);
	rc = pcapng_write_packet(pc->out, (uint32_t)iface, f,
				 f->point == PC_POINT_DROP ? comment : NULL);
	if (rc)
		output_failed(pc, -rc);
	else
		pc->c.written++;
}

/* --- receiving ---------------------------------------------------------------- */

static bool output_open(const struct pktcap *pc)
{
	return !pc->out_closed && !pc->out_error;
}

static void take_datagram(struct pktcap *pc, const uint8_t *buf, size_t len)
{
	struct pc_frame f;
	enum pc_bad bad = len > RX_BUF_BYTES ? PC_BAD_TRUNCATED :
			  wire_parse(buf, len, pc->snap_in_use, &f);

	if (bad != PC_BAD_NONE) {
		pc->c.bad[bad]++;
		return;
	}
	pc->c.received++;
	seq_account(&pc->c, f.seq);
	if ((pc->count && pc->c.written >= pc->count) || !output_open(pc)) {
		pc->c.not_written++;
		return;
	}
	emit(pc, &f);
	if (pc->count && pc->c.written == pc->count && pc->stop == PC_STOP_NONE)
		pc->stop = PC_STOP_COUNT;
}

/* Reads what the socket holds, up to RX_BATCH datagrams; returns how many. */
static unsigned drain_udp(struct pktcap *pc)
{
	static uint8_t buf[RX_BUF_BYTES];
	unsigned n;

	if (pc->udp_failed)
		return 0;
	for (n = 0; n < RX_BATCH; n++) {
		/* MSG_TRUNC: the datagram's real length, so a cut one is seen as such. */
		ssize_t len = recv(pc->udp_fd, buf, sizeof(buf), MSG_TRUNC);

		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0 && errno != EAGAIN) {
			fprintf(stderr, "pktcap: capture UDP socket: %s\n", strerror(errno));
			pc->udp_failed = true;
			if (pc->stop == PC_STOP_NONE)
				pc->stop = PC_STOP_SOCKET_ERROR;
		}
		if (len < 0)
			break;
		take_datagram(pc, buf, (size_t)len);
	}
	return n;
}

/*
 * Sleeps until a socket is readable, a signal, or UNTIL_NS (at most 100 ms).
 * A pipe on stdout is watched too: POLLERR on its write end means the reader
 * (tcpdump, Wireshark) is gone, which ends an idle capture at once instead
 * of at the next packet.
 */
static void wait_io(struct pktcap *pc, uint64_t until_ns, bool want_udp)
{
	struct pollfd fds[3] = { { .fd = control_fd(pc->ctl), .events = POLLIN } };
	uint64_t now_ns = mono_ns();
	uint64_t sleep_ns = until_ns > now_ns ? until_ns - now_ns : 0;
	nfds_t nb_fds = 1, watch = 0;

	if (want_udp)
		fds[nb_fds++] = (struct pollfd){ .fd = pc->udp_fd, .events = POLLIN };
	if (pc->out_watch_fd >= 0 && output_open(pc)) {
		watch = nb_fds;
		fds[nb_fds++] = (struct pollfd){ .fd = pc->out_watch_fd, .events = 0 };
	}
	if (sleep_ns > MAX_SLEEP_NS)
		sleep_ns = MAX_SLEEP_NS;
	if (poll(fds, nb_fds, (int)((sleep_ns + 999999) / 1000000)) > 0 &&
	    watch && (fds[watch].revents & (POLLERR | POLLHUP)))
		output_failed(pc, EPIPE);
}

/*
 * Waits until DEADLINE_NS for the image's answer: a line starting with
 * EXPECT or "capture: error", taking copies meanwhile if TAKE_COPIES. Other
 * "capture: " lines are skipped: through the launcher's control hub pktcap
 * also sees the replies to other tools' commands ("capture status").
 * 1: *reply holds the answer, 0: timed out, -1: control channel lost.
 */
static int await_reply(struct pktcap *pc, char *reply, const char *expect,
		       uint64_t deadline_ns, bool take_copies)
{
	for (;;) {
		int rc = control_pump(pc->ctl, reply, REPLY_BYTES);

		if (rc < 0)
			return rc;
		if (rc > 0 && (!strncmp(reply, expect, strlen(expect)) ||
			       !strncmp(reply, "capture: error", 14)))
			return 1;
		if (rc > 0)
			continue;
		if (take_copies)
			drain_udp(pc);
		if (mono_ns() >= deadline_ns)
			return 0;
		wait_io(pc, deadline_ns, take_copies);
	}
}

/* --- the capture ---------------------------------------------------------------- */

/* "key=N" anywhere in a reply, as a whole word. */
static bool reply_u64(const char *reply, const char *key, uint64_t *out)
{
	size_t key_len = strlen(key);

	for (const char *p = reply; (p = strstr(p, key)); p += key_len) {
		if ((p == reply || p[-1] == ' ') && p[key_len] == '=') {
			*out = strtoull(p + key_len + 1, NULL, 10);
			return true;
		}
	}
	return false;
}

static void no_reply(const struct pktcap *pc, const char *command, int rc)
{
	if (rc < 0)
		fprintf(stderr, "pktcap: control channel closed before a reply to '%s'\n", command);
	else
		fprintf(stderr, "pktcap: no reply from the image within %g s to '%s' (is another "
			"tool connected to %s?)\n", pc->reply_timeout_s, command, pc->control_path);
}

/*
 * The answer to our start. An "ok started" with another insns= is a late
 * answer to an earlier pktcap's start (one that gave up waiting): skip it.
 */
static int await_start_reply(struct pktcap *pc, char *reply)
{
	uint64_t deadline_ns = mono_ns() + seconds_ns(pc->reply_timeout_s);
	uint64_t insns;
	int rc;

	while ((rc = await_reply(pc, reply, "capture: ok started", deadline_ns, false)) > 0) {
		if (strncmp(reply, "capture: ok", 11) || !reply_u64(reply, "insns", &insns) ||
		    insns == pc->nb_insns)
			break;
		fprintf(stderr, "pktcap: skipping a stale reply: %s\n", reply);
	}
	return rc;
}

static int capture_begin(struct pktcap *pc)
{
	char reply[REPLY_BYTES];
	uint64_t snap;
	int rc;

	if (control_send(pc->ctl, pc->start_cmd))
		return EXIT_FAIL;
	rc = await_start_reply(pc, reply);
	if (rc <= 0) {
		no_reply(pc, "capture start", rc);
		if (!rc)
			control_send(pc->ctl, "capture stop");   /* in case it starts late */
		return EXIT_FAIL;
	}
	if (strncmp(reply, "capture: ok", 11)) {
		fprintf(stderr, "pktcap: the image refused the capture: %s\n", reply);
		return EXIT_FAIL;
	}
	if (reply_u64(reply, "snap", &snap) && snap && snap < pc->snap_in_use)
		pc->snap_in_use = (uint32_t)snap;
	if (pc->out && write_headers(pc)) {
		control_send(pc->ctl, "capture stop");
		return EXIT_FAIL;
	}
	fprintf(stderr, "pktcap: capturing points=%s snap=%u (%u BPF instructions); copies on 127.0.0.1:%d\n",
		pc->points_text, pc->snap_in_use, pc->nb_insns, pc->capture_udp);
	pc->capture_start_ns = mono_ns();
	return EXIT_OK;
}

static void check_stop(struct pktcap *pc, uint64_t now_ns)
{
	if (pc->stop != PC_STOP_NONE)
		return;
	if (signalled)
		pc->stop = PC_STOP_SIGNAL;
	else if (pc->duration_s && now_ns >= pc->capture_start_ns + seconds_ns(pc->duration_s))
		pc->stop = PC_STOP_DURATION;
	else if (pc->timeout_s && now_ns >= pc->start_ns + seconds_ns(pc->timeout_s))
		pc->stop = PC_STOP_TIMEOUT;
}

static uint64_t next_deadline_ns(const struct pktcap *pc)
{
	uint64_t until = UINT64_MAX;

	if (pc->duration_s)
		until = pc->capture_start_ns + seconds_ns(pc->duration_s);
	if (pc->timeout_s && pc->start_ns + seconds_ns(pc->timeout_s) < until)
		until = pc->start_ns + seconds_ns(pc->timeout_s);
	return until;
}

static void run_loop(struct pktcap *pc)
{
	char reply[REPLY_BYTES];
	int rc;

	for (;;) {
		check_stop(pc, mono_ns());
		if (pc->stop != PC_STOP_NONE)
			return;
		if (drain_udp(pc) == RX_BATCH)
			continue;          /* more waiting: no sleep */
		/* A "capture: " line now answers nobody (another tool's command): skip it. */
		while ((rc = control_pump(pc->ctl, reply, sizeof(reply))) == 1)
			;
		if (rc < 0) {
			pc->stop = PC_STOP_CONTROL_LOST;
			return;
		}
		if (pc->stop == PC_STOP_NONE)
			wait_io(pc, next_deadline_ns(pc), true);
	}
}

/* Copies the image sent before it stopped may still be on their way. */
static void drain_in_flight(struct pktcap *pc)
{
	uint64_t end_ns = mono_ns() + DRAIN_MAX_NS;
	uint64_t quiet_until_ns = mono_ns() + DRAIN_QUIET_NS;

	while (mono_ns() < quiet_until_ns && mono_ns() < end_ns) {
		if (drain_udp(pc))
			quiet_until_ns = mono_ns() + DRAIN_QUIET_NS;
		else
			wait_io(pc, quiet_until_ns, true);
	}
}

static int capture_end(struct pktcap *pc)
{
	char reply[REPLY_BYTES];
	int rc;

	if (pc->stop == PC_STOP_CONTROL_LOST || control_send(pc->ctl, "capture stop"))
		return EXIT_FAIL;
	rc = await_reply(pc, reply, "capture: ok stopped",
			 mono_ns() + seconds_ns(pc->reply_timeout_s), true);
	if (rc <= 0) {
		no_reply(pc, "capture stop", rc);
		return EXIT_FAIL;
	}
	pc->stop_replied = true;
	if (strncmp(reply, "capture: ok", 11)) {
		fprintf(stderr, "pktcap: 'capture stop' answered: %s\n", reply);
		return EXIT_FAIL;
	}
	pc->image.valid = reply_u64(reply, "captured", &pc->image.captured) &&
			  reply_u64(reply, "queue_drops", &pc->image.queue_drops);
	pc->image.has_filtered = reply_u64(reply, "filtered", &pc->image.filtered);
	pc->image.has_sent = reply_u64(reply, "sent", &pc->image.sent) &&
			     reply_u64(reply, "tx_drops", &pc->image.tx_drops);
	drain_in_flight(pc);
	if (pc->image.valid && pc->image.captured > pc->c.seq_next)
		pc->c.tail_lost = pc->image.captured - pc->c.seq_next;
	return EXIT_OK;
}

/* --- set-up --------------------------------------------------------------------- */

static bool stdout_is_pipe(void)
{
	struct stat st;

	return !fstat(STDOUT_FILENO, &st) && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

/* Everything before the capture; returns an exit status, or -1 to go on. */
static int set_up(struct pktcap *pc, int argc, char **argv)
{
	int rc = cli_parse(pc, argc, argv);

	if (rc)
		return rc > 0 ? EXIT_OK : EXIT_USAGE;
	if (filter_compile(pc))
		return EXIT_USAGE;
	if (filter_build_command(pc))
		return EXIT_FAIL;
	if (pc->dump_program) {
		filter_dump(pc, stdout);
		return EXIT_OK;
	}
	if (runfile_apply(pc))
		return EXIT_USAGE;
	pc->snap_in_use = pc->snaplen;
	pc->iface_of_port = malloc(PC_NB_WIRE_PORTS * sizeof(*pc->iface_of_port));
	if (!pc->iface_of_port)
		return EXIT_FAIL;
	memset(pc->iface_of_port, 0xff, PC_NB_WIRE_PORTS * sizeof(*pc->iface_of_port));
	if (pc->write_path && !(pc->out = pcapng_open(pc->write_path)))
		return EXIT_FAIL;
	if (!pc->write_path)
		setvbuf(stdout, NULL, _IOLBF, 0);
	if (!pc->write_path || !strcmp(pc->write_path, "-"))
		pc->out_watch_fd = stdout_is_pipe() ? STDOUT_FILENO : -1;
	if ((pc->udp_fd = wire_open(pc->capture_udp)) < 0)
		return EXIT_FAIL;
	if (!(pc->ctl = control_connect(pc->control_path)))
		return EXIT_FAIL;
	install_signals();
	return -1;
}

static void tear_down(struct pktcap *pc)
{
	control_close(pc->ctl);
	if (pc->udp_fd >= 0)
		close(pc->udp_fd);
	free(pc->prog);
	free(pc->iface_of_port);
	free(pc->start_cmd);
	free(pc->filter_expr);
	free(pc->control_owned);
	free(pc);
}

int main(int argc, char **argv)
{
	struct pktcap *pc = calloc(1, sizeof(*pc));
	int rc;

	if (!pc)
		return EXIT_FAIL;
	pc->udp_fd = -1;
	pc->out_watch_fd = -1;
	pc->start_ns = mono_ns();
	rc = set_up(pc, argc, argv);
	if (rc < 0) {
		rc = capture_begin(pc);
		if (rc == EXIT_OK) {
			run_loop(pc);
			rc = report_summary(pc, capture_end(pc));
		}
	}
	/* Buffered pcapng that cannot be written is a failure, unless nobody reads. */
	if (pcapng_close(pc->out) && rc == EXIT_OK && output_open(pc)) {
		fprintf(stderr, "pktcap: -w %s: write failed\n", pc->write_path);
		rc = EXIT_FAIL;
	}
	tear_down(pc);
	return rc;
}
