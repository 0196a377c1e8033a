/*
 * pktgen main: set up, run the single-threaded send/receive loop, report.
 *
 * One loop turn: send the frames that are due (tx.c), drain every port's
 * socket (rx.c), decide whether the run is over, and sleep in ppoll() until
 * the next frame is due or a frame arrives. Sleeping instead of spinning
 * matters on a two-core host: a spinning pktgen takes the core QEMU's I/O
 * thread needs. The run is over when everything was sent and then either
 * every stream's frames all arrived (and 100 ms more, for late duplicates
 * and strays) or --wait-ms passed without a test frame arriving; --timeout
 * and SIGINT/SIGTERM stop it early.
 */
#include "pktgen.h"

#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define RX_BURSTS_PER_TURN 8       /* drain up to 8 x PG_BURST per port per turn */
#define MAX_SLEEP_NS 100000000ull  /* wake at least every 100 ms to report progress */
#define MIN_SLEEP_NS 100000ull     /* pace in steps of at least 100 us (see idle_wait) */
#define LINGER_NS    100000000ull  /* after the last expected frame, catch late duplicates */

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static unsigned rx_drain(struct pktgen *pg)
{
	unsigned total = 0;

	for (int i = 0; i < PG_MAX_PORTS; i++) {
		struct pg_port *p = &pg->ports[i];
		unsigned n = PG_BURST;
		if (!p->defined)
			continue;
		for (int b = 0; b < RX_BURSTS_PER_TURN && n == PG_BURST; b++) {
			n = rx_poll(pg, p);
			total += n;
		}
	}
	return total;
}

/* When to stop waiting: --wait-ms without progress, or the linger once all arrived. */
static uint64_t wait_end_ns(const struct pktgen *pg)
{
	uint64_t since = pg->last_progress_ns > pg->last_tx_ns ? pg->last_progress_ns : pg->last_tx_ns;
	uint64_t wait_ns = (uint64_t)pg->wait_ms * 1000000ull;

	if (rx_all_arrived(pg) && wait_ns > LINGER_NS)
		wait_ns = LINGER_NS;
	return since + wait_ns;
}

static bool run_finished(const struct pktgen *pg, uint64_t now_ns)
{
	if (!pg->nb_streams && !pg->replay.path)
		return false;                  /* listen only: until --timeout or a signal */
	return tx_done(pg) && now_ns >= wait_end_ns(pg);
}

static void idle_wait(struct pktgen *pg, uint64_t now_ns, uint64_t deadline_ns,
		      struct pollfd *fds, int nb_fds)
{
	uint64_t until = tx_done(pg) ? wait_end_ns(pg) : tx_next_due_ns(pg);
	struct timespec ts;

	if (until > deadline_ns)
		until = deadline_ns;
	if (until <= now_ns)
		return;
	/*
	 * Waking for every frame costs a context switch and a timer each: at
	 * 100 kpps that alone took a core. Sleeping at least MIN_SLEEP_NS sends
	 * the frames that fell due meanwhile as one small burst; the average
	 * rate stays exact and a received frame still wakes ppoll at once.
	 */
	if (!tx_done(pg) && until - now_ns < MIN_SLEEP_NS)
		until = now_ns + MIN_SLEEP_NS;
	if (until - now_ns > MAX_SLEEP_NS)
		until = now_ns + MAX_SLEEP_NS;
	ts.tv_sec = (time_t)((until - now_ns) / 1000000000ull);
	ts.tv_nsec = (long)((until - now_ns) % 1000000000ull);
	ppoll(fds, (nfds_t)nb_fds, &ts, NULL);
}

static void run_loop(struct pktgen *pg)
{
	struct pollfd fds[PG_MAX_PORTS];
	int port_of[PG_MAX_PORTS];
	int nb_fds = ports_poll_fds(pg, fds, port_of);
	uint64_t deadline_ns;

	pg->start_ns = pg->pace_start_ns = pg->last_progress_ns = mono_ns();
	deadline_ns = pg->start_ns + (uint64_t)(pg->timeout_s * 1e9);
	for (;;) {
		uint64_t now_ns = mono_ns();
		unsigned sent, got;

		if (stop_requested) {
			pg->interrupted = true;
			break;
		}
		if (now_ns >= deadline_ns) {
			pg->timed_out = true;
			break;
		}
		sent = tx_done(pg) ? 0 : tx_run(pg, now_ns);
		got = rx_drain(pg);
		if (run_finished(pg, now_ns))
			break;
		report_progress(pg, now_ns);
		if (!sent && !got)
			idle_wait(pg, now_ns, deadline_ns, fds, nb_fds);
	}
}

static uint8_t random_run_tag(void)
{
	uint8_t tag;

	if (getrandom(&tag, sizeof(tag), 0) != sizeof(tag))
		tag = (uint8_t)(mono_ns() ^ (uint64_t)getpid());
	return tag;
}

/* Everything before the loop; returns an exit status, or -1 to go on. */
static int set_up(struct pktgen *pg, int argc, char **argv)
{
	if (cli_parse(pg, argc, argv))
		return EXIT_USAGE;
	frame_init();
	pg->run_tag = random_run_tag();
	if (pg->replay.path && replay_load(pg))
		return EXIT_USAGE;
	if (mixes_load(pg))
		return EXIT_USAGE;
	if (ports_open(pg))
		return EXIT_USAGE;
	if (pg->write_path && !(pg->capture = capture_open(pg->write_path, pg->pcap_nano)))
		return EXIT_USAGE;
	if (tx_init(pg) || rx_init(pg)) {
		fprintf(stderr, "pktgen: out of memory\n");
		return EXIT_FAIL;
	}
	/* Default timer slack (50 us) would make every paced sleep overshoot. */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	install_signals();
	return -1;
}

static void replay_free(struct pg_replay *r)
{
	for (uint64_t i = 0; i < r->nb_frames; i++)
		free(r->frames[i]);
	free(r->frames);
	free(r->lens);
}

static void tear_down(struct pktgen *pg)
{
	capture_close(pg->capture);
	ports_close(pg);
	for (int i = 0; i < PG_MAX_PORTS; i++) {
		free(pg->ports[i].txq);
		free(pg->ports[i].rxb);
	}
	for (int i = 0; i < pg->nb_streams; i++) {
		free(pg->streams[i].flow_next_seq);
		free(pg->streams[i].seen);
	}
	replay_free(&pg->replay);
	for (int i = 0; i < pg->nb_mixes; i++)
		replay_free(&pg->mixes[i]);
	free(pg);
}

int main(int argc, char **argv)
{
	struct pktgen *pg = calloc(1, sizeof(*pg));
	int rc;

	if (!pg)
		return EXIT_FAIL;
	for (int i = 0; i < PG_MAX_PORTS; i++)
		pg->ports[i].fd = -1;          /* nothing to close if set-up stops early */
	rc = set_up(pg, argc, argv);
	if (rc < 0) {
		run_loop(pg);
		rc = report_summary(pg, stdout);
	}
	tear_down(pg);
	return rc;
}
