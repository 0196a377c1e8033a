/*
 * pcapng: a writer for the few blocks pktcap needs (the pcapng draft,
 * draft-ietf-opsawg-pcapng, sections 4.1 SHB, 4.2 IDB, 4.3 EPB). Blocks are
 * in the host's byte order; the SHB's byte-order magic tells readers which.
 *
 *   every block:  type(4) | total length(4) | body ... | options | total length(4)
 *   option:       code(2) | length(2) | value, padded to 4 bytes; ends with code 0
 *
 *   SHB  0x0a0d0d0a  magic 0x1a2b3c4d, version 1.0, section length -1 (unknown)
 *   IDB  1           linktype EN10MB, snaplen; if_name "portN", if_description
 *                    (NIC model), if_MACaddr, if_tsresol = 9 (nanoseconds)
 *   EPB  6           interface id, timestamp hi/lo, caplen, origlen, data;
 *                    epb_flags (direction), epb_packetid (the image's seq),
 *                    opt_comment "drop: REASON"
 *
 * One IDB per pktmetal port, so Wireshark shows each packet's port as its
 * interface. IDBs may follow EPBs in a section, which lets a port missing
 * from the run file get its IDB when its first packet arrives.
 *
 * Writing to a pipe flushes after every block, so `pktcap -w - | tcpdump -r -`
 * and `wireshark -k -i -` show each packet as it arrives.
 */
#include "pktcap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BT_SHB 0x0a0d0d0au
#define BT_IDB 0x00000001u
#define BT_EPB 0x00000006u
#define SHB_BYTE_ORDER_MAGIC 0x1a2b3c4du
#define LINKTYPE_ETHERNET 1

/* Option codes, by the block they belong to (0 and 1 are valid in every block). */
#define OPT_ENDOFOPT       0
#define OPT_COMMENT        1
#define OPT_SHB_USERAPPL   4
#define OPT_IF_NAME        2
#define OPT_IF_DESCRIPTION 3
#define OPT_IF_MACADDR     6
#define OPT_IF_TSRESOL     9
#define OPT_EPB_FLAGS      2
#define OPT_EPB_PACKETID   5

#define EPB_FLAG_INBOUND  1u     /* epb_flags bits 0-1: direction */
#define EPB_FLAG_OUTBOUND 2u

#define OPTIONS_MAX_BYTES 512    /* comment, flags, packet id, end; names for IDBs */
#define BLOCK_MAX_BYTES   (28 + 65536 + OPTIONS_MAX_BYTES + 4)

struct pcapng {
	FILE *f;
	bool is_stdout;
	bool flush_each;             /* a pipe or a socket: someone is reading live */
	uint32_t nb_ifaces;
	uint8_t block[BLOCK_MAX_BYTES];
};

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static size_t put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
	return sizeof(v);
}

static size_t put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
	return sizeof(v);
}

static size_t put_opt(uint8_t *p, uint16_t code, const void *val, size_t len)
{
	size_t n = put16(p, code);

	n += put16(p + n, (uint16_t)len);
	memcpy(p + n, val, len);
	memset(p + n + len, 0, pad4(len) - len);
	return n + pad4(len);
}

static size_t put_opt_str(uint8_t *p, uint16_t code, const char *s, size_t max_len)
{
	size_t len = strnlen(s, max_len);

	return put_opt(p, code, s, len);
}

static size_t put_end(uint8_t *p)
{
	return put32(p, OPT_ENDOFOPT);   /* code 0, length 0 */
}

/* Fills in both length fields of the block of BODY_END bytes and writes it. */
static int emit_block(struct pcapng *w, uint32_t type, size_t body_end)
{
	size_t total = body_end + 4;

	put32(w->block, type);
	put32(w->block + 4, (uint32_t)total);
	put32(w->block + body_end, (uint32_t)total);
	errno = 0;
	if (fwrite(w->block, 1, total, w->f) != total)
		return errno ? -errno : -EIO;
	if (w->flush_each && fflush(w->f))
		return -errno;
	return 0;
}

struct pcapng *pcapng_open(const char *path)
{
	struct pcapng *w = calloc(1, sizeof(*w));
	struct stat st;

	if (!w)
		return NULL;
	w->is_stdout = !strcmp(path, "-");
	if (w->is_stdout && isatty(STDOUT_FILENO)) {
		fprintf(stderr, "pktcap: -w -: stdout is a terminal; pipe it (| tcpdump -r -) or name a file\n");
		goto err_free;
	}
	w->f = w->is_stdout ? stdout : fopen(path, "wb");
	if (!w->f) {
		fprintf(stderr, "pktcap: -w %s: %s\n", path, strerror(errno));
		goto err_free;
	}
	w->flush_each = !fstat(fileno(w->f), &st) && !S_ISREG(st.st_mode);
	return w;

err_free:
	free(w);
	return NULL;
}

int pcapng_write_shb(struct pcapng *w)
{
	static const char app[] = "pktcap (pktmetal)";
	uint8_t *b = w->block;
	size_t n = 8;

	n += put32(b + n, SHB_BYTE_ORDER_MAGIC);
	n += put16(b + n, 1);                    /* major */
	n += put16(b + n, 0);                    /* minor */
	n += put32(b + n, 0xffffffffu);          /* section length: -1, not known */
	n += put32(b + n, 0xffffffffu);
	n += put_opt_str(b + n, OPT_SHB_USERAPPL, app, sizeof(app));
	n += put_end(b + n);
	return emit_block(w, BT_SHB, n);
}

/* Returns the new interface id, or a negative errno. */
int pcapng_add_iface(struct pcapng *w, const char *name, const char *description,
		     const uint8_t *mac, uint32_t snaplen)
{
	static const uint8_t tsresol_ns = 9;     /* 10^-9 s */
	uint8_t *b = w->block;
	size_t n = 8;
	int rc;

	n += put16(b + n, LINKTYPE_ETHERNET);
	n += put16(b + n, 0);                    /* reserved */
	n += put32(b + n, snaplen);
	n += put_opt_str(b + n, OPT_IF_NAME, name, 64);
	if (description && *description)
		n += put_opt_str(b + n, OPT_IF_DESCRIPTION, description, 128);
	if (mac)
		n += put_opt(b + n, OPT_IF_MACADDR, mac, 6);
	n += put_opt(b + n, OPT_IF_TSRESOL, &tsresol_ns, 1);
	n += put_end(b + n);
	rc = emit_block(w, BT_IDB, n);
	return rc ? rc : (int)w->nb_ifaces++;
}

static uint32_t direction_flags(uint8_t point)
{
	/* A drop point's port is the one the packet came in on (net/capture.h). */
	return point == PC_POINT_TX ? EPB_FLAG_OUTBOUND : EPB_FLAG_INBOUND;
}

int pcapng_write_packet(struct pcapng *w, uint32_t iface, const struct pc_frame *f,
			const char *comment)
{
	uint8_t *b = w->block;
	uint32_t flags = direction_flags(f->point);
	uint64_t packet_id = f->seq;
	size_t n = 8;

	n += put32(b + n, iface);
	n += put32(b + n, (uint32_t)(f->ts_ns >> 32));
	n += put32(b + n, (uint32_t)f->ts_ns);
	n += put32(b + n, f->cap_len);
	n += put32(b + n, f->orig_len);
	memcpy(b + n, f->data, f->cap_len);
	memset(b + n + f->cap_len, 0, pad4(f->cap_len) - f->cap_len);
	n += pad4(f->cap_len);
	n += put_opt(b + n, OPT_EPB_FLAGS, &flags, sizeof(flags));
	n += put_opt(b + n, OPT_EPB_PACKETID, &packet_id, sizeof(packet_id));
	if (comment)
		n += put_opt_str(b + n, OPT_COMMENT, comment, 256);
	n += put_end(b + n);
	return emit_block(w, BT_EPB, n);
}

/* 0, or a negative errno if buffered data could not be written. */
int pcapng_close(struct pcapng *w)
{
	int rc = 0;

	if (!w)
		return 0;
	if (fflush(w->f))
		rc = -errno;
	if (!w->is_stdout && fclose(w->f) && !rc)
		rc = -errno;
	free(w);
	return rc;
}
