/*
 * filter: the filter expression becomes a classic-BPF program here, on the
 * host, and travels to the image as hex in the start command:
 *
 *   capture start points=rx0,rx1,drop0,drop1 snap=65535 bpf=0028000000000000c...
 *
 * Each instruction is 16 lowercase hex digits, struct bpf_insn's fields in
 * order and big-endian: code (4 digits), jt (2), jf (2), k (8).
 *
 * The program is compiled against pcap_open_dead(DLT_EN10MB, 65535), not a
 * live handle: a live Linux handle may emit "ld #vlanp"-style extension
 * loads (SKF_AD_OFF) that only the Linux kernel knows (TRAPS.md). Accepting
 * returns 65535, the dead handle's snap length; the image applies snap=.
 */
#include "pktcap.h"

#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(struct pc_insn) == sizeof(struct bpf_insn), "same instruction layout");

static int copy_program(struct pktcap *pc, const struct bpf_program *bp)
{
	pc->prog = calloc(bp->bf_len ? bp->bf_len : 1, sizeof(*pc->prog));
	if (!pc->prog)
		return -1;
	for (unsigned i = 0; i < bp->bf_len; i++) {
		pc->prog[i].code = bp->bf_insns[i].code;
		pc->prog[i].jt = bp->bf_insns[i].jt;
		pc->prog[i].jf = bp->bf_insns[i].jf;
		pc->prog[i].k = bp->bf_insns[i].k;
	}
	pc->nb_insns = bp->bf_len;
	return 0;
}

/* 0, or -1 after printing libpcap's complaint. */
int filter_compile(struct pktcap *pc)
{
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
	struct bpf_program bp;
	int rc;

	if (!dead) {
		fprintf(stderr, "pktcap: pcap_open_dead failed\n");
		return -1;
	}
	rc = pcap_compile(dead, &bp, pc->filter_expr, 1, PCAP_NETMASK_UNKNOWN);
	if (rc)
		fprintf(stderr, "pktcap: filter '%s': %s\n", pc->filter_expr, pcap_geterr(dead));
	else
		rc = copy_program(pc, &bp);
	if (!rc)
		pcap_freecode(&bp);
	pcap_close(dead);
	return rc;
}

static void append(char *buf, size_t size, size_t *len, const char *s)
{
	size_t n = strlen(s);

	if (*len + n < size) {
		memcpy(buf + *len, s, n + 1);
		*len += n;
	}
}

/* "rx0,rx1,tx0,tx1" or "rx*,drop*": every chosen point on every chosen port. */
static int build_points(struct pktcap *pc)
{
	static const char *const point_names[] = { "rx", "tx", "drop" };
	size_t len = 0;
	char item[16];

	pc->points_text[0] = '\0';
	for (int p = PC_POINT_RX; p <= PC_POINT_DROP; p++) {
		if (!(pc->point_mask & (1u << p)))
			continue;
		for (int i = 0; i < (pc->all_ports ? 1 : pc->nb_sel_ports); i++) {
			if (pc->all_ports)
				snprintf(item, sizeof(item), "%s*", point_names[p]);
			else
				snprintf(item, sizeof(item), "%s%u", point_names[p], pc->sel_ports[i]);
			if (len)
				append(pc->points_text, sizeof(pc->points_text), &len, ",");
			append(pc->points_text, sizeof(pc->points_text), &len, item);
		}
	}
	/* 64 ports x 3 points x "drop65535," is 1920 bytes: the buffer holds them. */
	return len ? 0 : -1;
}

int filter_build_command(struct pktcap *pc)
{
	static const char fmt[] = "capture start points=%s snap=%u%s bpf=";
	char queue_arg[24] = "";
	size_t size, len;
	char *cmd;

	if (pc->queue)
		snprintf(queue_arg, sizeof(queue_arg), " queue=%u", pc->queue);

	if (build_points(pc))
		return -1;
	size = sizeof(fmt) + strlen(pc->points_text) + 16 + sizeof(queue_arg) +
	       (size_t)pc->nb_insns * 16 + 1;
	cmd = malloc(size);
	if (!cmd)
		return -1;
	len = (size_t)snprintf(cmd, size, fmt, pc->points_text, pc->snaplen, queue_arg);
	for (unsigned i = 0; i < pc->nb_insns; i++) {
		const struct pc_insn *in = &pc->prog[i];

		len += (size_t)snprintf(cmd + len, size - len, "%04x%02x%02x%08x",
					in->code, in->jt, in->jf, in->k);
	}
	pc->start_cmd = cmd;
	return 0;
}

/* -d: the program as tcpdump -d prints it, then the command line. */
void filter_dump(const struct pktcap *pc, FILE *out)
{
	for (unsigned i = 0; i < pc->nb_insns; i++) {
		struct bpf_insn in = {
			.code = pc->prog[i].code, .jt = pc->prog[i].jt,
			.jf = pc->prog[i].jf, .k = pc->prog[i].k,
		};
		fprintf(out, "%s\n", bpf_image(&in, (int)i));
	}
	fprintf(out, "%s\n", pc->start_cmd);
}
