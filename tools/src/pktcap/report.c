/*
 * report: the summary pktcap prints on stderr when a capture ends, one
 * "pktcap: name: value" line per figure so scripts can grep them:
 *
 *   pktcap: stopped: -c reached
 *   pktcap: packets written: 5 (to out.pcapng)
 *   pktcap: image captured: 6
 *   pktcap: image queue drops: 2
 *   pktcap: image filtered: 10
 *   pktcap: image sent: 6                (when the reply has sent= tx_drops=)
 *   pktcap: image tx drops: 0
 *   pktcap: lost in transit: 1 (seq gaps 1 in 1 gap, missing at the end 0)
 *   pktcap: bad datagrams: 3 (short 1, ethertype 1, magic 1)
 *
 * "image ..." are the counters of the "capture stop" reply; "lost in
 * transit" are copies the image numbered but that never arrived here: holes
 * in the seq numbers, plus the image's captured count beyond the last seq
 * seen (copies lost after the last one that arrived). The image's tx drops
 * (copies its capture port refused) are part of them.
 */
#include "pktcap.h"

static const char *stop_text(enum pc_stop stop)
{
	switch (stop) {
	case PC_STOP_NONE:          return "?";
	case PC_STOP_SIGNAL:        return "signal";
	case PC_STOP_COUNT:         return "-c reached";
	case PC_STOP_DURATION:      return "--duration reached";
	case PC_STOP_TIMEOUT:       return "--timeout reached";
	case PC_STOP_OUTPUT_CLOSED: return "output closed by its reader";
	case PC_STOP_OUTPUT_ERROR:  return "output write error";
	case PC_STOP_CONTROL_LOST:  return "control channel closed by the image";
	case PC_STOP_SOCKET_ERROR:  return "capture UDP socket error";
	}
	return "?";
}

static void report_image(const struct pktcap *pc, FILE *out)
{
	if (!pc->image.valid) {
		fprintf(out, "pktcap: image captured: ? (%s)\n",
			pc->stop_replied ? "no counters in the reply" : "no reply to capture stop");
		return;
	}
	fprintf(out, "pktcap: image captured: %llu\n", (unsigned long long)pc->image.captured);
	fprintf(out, "pktcap: image queue drops: %llu\n", (unsigned long long)pc->image.queue_drops);
	if (pc->image.has_filtered)
		fprintf(out, "pktcap: image filtered: %llu\n", (unsigned long long)pc->image.filtered);
	if (pc->image.has_sent) {
		fprintf(out, "pktcap: image sent: %llu\n", (unsigned long long)pc->image.sent);
		fprintf(out, "pktcap: image tx drops: %llu\n", (unsigned long long)pc->image.tx_drops);
	}
}

static void report_bad(const struct pc_counters *c, FILE *out)
{
	uint64_t total = 0;
	const char *sep = " (";

	for (int i = PC_BAD_NONE + 1; i < PC_BAD__COUNT; i++)
		total += c->bad[i];
	fprintf(out, "pktcap: bad datagrams: %llu", (unsigned long long)total);
	for (int i = PC_BAD_NONE + 1; i < PC_BAD__COUNT; i++) {
		if (!c->bad[i])
			continue;
		fprintf(out, "%s%s %llu", sep, wire_bad_name((enum pc_bad)i),
			(unsigned long long)c->bad[i]);
		sep = ", ";
	}
	fputs(total ? ")\n" : "\n", out);
}

int report_summary(const struct pktcap *pc, int rc_capture_end)
{
	const struct pc_counters *c = &pc->c;
	FILE *out = stderr;

	fprintf(out, "pktcap: stopped: %s\n", stop_text(pc->stop));
	fprintf(out, "pktcap: packets written: %llu (to %s)\n", (unsigned long long)c->written,
		!pc->write_path ? "stdout as text" : pc->out && pc->write_path[0] == '-' ?
		"stdout" : pc->write_path);
	report_image(pc, out);
	fprintf(out, "pktcap: lost in transit: %llu (seq gaps %llu in %llu gap%s, missing at the end %llu)\n",
		(unsigned long long)(c->seq_lost + c->tail_lost), (unsigned long long)c->seq_lost,
		(unsigned long long)c->seq_gaps, c->seq_gaps == 1 ? "" : "s",
		(unsigned long long)c->tail_lost);
	if (c->seq_late)
		fprintf(out, "pktcap: out of order or duplicate: %llu\n", (unsigned long long)c->seq_late);
	if (c->not_written)
		fprintf(out, "pktcap: received but not written: %llu (after -c or a closed output)\n",
			(unsigned long long)c->not_written);
	report_bad(c, out);

	if (pc->out_error || pc->udp_failed)
		return EXIT_FAIL;
	switch (pc->stop) {
	case PC_STOP_OUTPUT_ERROR:
	case PC_STOP_CONTROL_LOST:
	case PC_STOP_SOCKET_ERROR:
		return EXIT_FAIL;
	case PC_STOP_TIMEOUT:
		if (pc->count && c->written < pc->count) {
			fprintf(out, "pktcap: --timeout before -c %llu was reached\n",
				(unsigned long long)pc->count);
			return EXIT_FAIL;
		}
		break;
	default:
		break;
	}
	return rc_capture_end;
}
