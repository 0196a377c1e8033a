/*
 * capture: --write, every received frame into a classic pcap file
 * (DLT_EN10MB) through libpcap's dumper, so tshark and tcpdump read it.
 * Timestamps are the host's wall clock when pktgen read the frame, in
 * microseconds, or nanoseconds with --pcap-nano (the file's magic says which).
 * pcap has no interface field: frames of all ports share the one file.
 */
#include "pktgen.h"

#include <pcap/pcap.h>
#include <stdlib.h>
#include <time.h>

struct capture {
	pcap_t *dead;
	pcap_dumper_t *dumper;
	bool nano;
};

struct capture *capture_open(const char *path, bool nano)
{
	struct capture *cap = calloc(1, sizeof(*cap));

	if (!cap)
		return NULL;
	cap->nano = nano;
	cap->dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535,
			nano ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO);
	if (!cap->dead)
		goto err_free;
	cap->dumper = pcap_dump_open(cap->dead, path);
	if (!cap->dumper) {
		fprintf(stderr, "pktgen: --write %s: %s\n", path, pcap_geterr(cap->dead));
		goto err_close_dead;
	}
	return cap;

err_close_dead:
	pcap_close(cap->dead);
err_free:
	free(cap);
	return NULL;
}

void capture_write(struct capture *cap, const uint8_t *frame, uint32_t len, uint32_t orig_len)
{
	struct pcap_pkthdr h = { .caplen = len, .len = orig_len };
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	h.ts.tv_sec = ts.tv_sec;
	/* With nanosecond precision libpcap stores tv_usec as nanoseconds. */
	h.ts.tv_usec = cap->nano ? ts.tv_nsec : ts.tv_nsec / 1000;
	pcap_dump((u_char *)cap->dumper, &h, frame);
}

void capture_close(struct capture *cap)
{
	if (!cap)
		return;
	pcap_dump_close(cap->dumper);
	pcap_close(cap->dead);
	free(cap);
}
