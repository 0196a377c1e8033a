/*
 * Packet buffer: one fixed-size slot of the packet arena (DESIGN.md, Packet
 * buffers).
 *
 *   +----------------+------------------+------------------------------+
 *   | struct pktbuf  | headroom         | frame (data room)            |
 *   | 64 B metadata  | PKTBUF_HEADROOM  | PKTBUF_DATA_ROOM             |
 *   +----------------+------------------+------------------------------+
 *   ^ buffer start   ^ buf_dma (DMA address of the byte after the metadata)
 *                    |<- data_off ->|frame...
 *
 * The metadata is one cache line, so touching a buffer's bookkeeping costs
 * one line. Its DMA address is computed once, when the pool is built
 * (STYLE.md, habit 4). The headroom holds the 12-byte virtio-net header right
 * before the frame, so a virtio packet is one descriptor, and leaves room to
 * push an encapsulation later.
 */
#ifndef PKTMETAL_NET_PKTBUF_H
#define PKTMETAL_NET_PKTBUF_H

#include <stddef.h>
#include <stdint.h>

/* A device-visible address. The image is identity mapped, so it equals the
 * pointer, but it is a different kind of thing: keep them apart. */
typedef uint64_t dma_addr_t;

#define PKTBUF_META_BYTES  64u
#define PKTBUF_HEADROOM    128u
#define PKTBUF_DATA_ROOM   2048u     /* e1000 RCTL.BSIZE = 2048 */
#define PKTBUF_BUF_BYTES   (PKTBUF_HEADROOM + PKTBUF_DATA_ROOM)
#define PKTBUF_STRIDE      (PKTBUF_META_BYTES + PKTBUF_BUF_BYTES)   /* 2240 = 35 lines */

struct pool;

struct pktbuf {
    dma_addr_t buf_dma;        /* DMA address of the headroom's first byte */
    struct pool *pool;         /* the pool this buffer returns to */
    uint64_t rx_tsc;           /* TSC when received (capture timestamps) */
    uint16_t data_off;         /* headroom start -> first frame byte */
    uint16_t data_len;         /* frame bytes */
    uint16_t flags;
    uint16_t in_pool;          /* the pool's own: 0 only while the buffer is out
                                * through the packet layer (pool_get*), so
                                * pool_put_bulk refuses a double free and a buffer
                                * taken with pool_take* (pool.h) */
    uint16_t port;             /* input port */
    uint16_t reserved;
    uint32_t user;             /* pipeline scratch (e.g. output port) */
    uint64_t pad[3];
};
_Static_assert(sizeof(struct pktbuf) == PKTBUF_META_BYTES, "pktbuf metadata is one 64-byte line");

static inline uint8_t *pktbuf_buf(struct pktbuf *b)
{
    return (uint8_t *)b + PKTBUF_META_BYTES;
}

static inline uint8_t *pktbuf_data(struct pktbuf *b)
{
    return pktbuf_buf(b) + b->data_off;
}

static inline dma_addr_t pktbuf_data_dma(const struct pktbuf *b)
{
    return b->buf_dma + b->data_off;
}

/* Room after the frame's first byte. */
static inline uint16_t pktbuf_tailroom(const struct pktbuf *b)
{
    return (uint16_t)(PKTBUF_BUF_BYTES - b->data_off);
}

/* Back to an empty frame at the standard headroom. */
static inline void pktbuf_reset(struct pktbuf *b)
{
    b->data_off = PKTBUF_HEADROOM;
    b->data_len = 0;
    b->flags = 0;
}

#endif
