/*
 * The platform under host unit tests: what kernel/ provides on the image
 * (dma_alloc, the clock, kprintf, MMIO) implemented for a test process.
 *
 *  - dma_alloc() memory is recorded, so device models can reject descriptors
 *    that point outside DMA memory (a strict model, as the hardware's IOMMU-less
 *    DMA would silently corrupt memory instead).
 *  - The clock is virtual: it advances only when code reads it (1 us per
 *    read, so polling loops with a timeout terminate) or calls
 *    clock_delay_ns(), or when a test calls host_clock_advance_ns().
 *  - kprintf() output is kept in a buffer that tests can search.
 *  - MMIO goes through a bus: a model registers its register window and gets
 *    every read and write in it; other addresses are plain memory.
 */
#ifndef PKTMETAL_TESTS_HOST_PLATFORM_H
#define PKTMETAL_TESTS_HOST_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* DMA memory */
bool host_dma_contains(uint64_t addr, uint64_t len);
void host_dma_free_all(void);          /* call in a test's teardown */
size_t host_dma_bytes_allocated(void);

/* Virtual clock */
void host_clock_advance_ns(uint64_t ns);

/* kprintf capture */
const char *host_log(void);            /* everything printed since the last clear */
void host_log_clear(void);

/* MMIO bus */
struct mmio_region_ops {
    uint64_t (*read)(void *ctx, uint64_t offset, unsigned width_bytes);
    void (*write)(void *ctx, uint64_t offset, unsigned width_bytes, uint64_t val);
};
/* Claims [base, base+len); returns 0 or -1 when the table is full. */
int host_mmio_register(void *base, uint64_t len, const struct mmio_region_ops *ops, void *ctx);
void host_mmio_unregister(void *base);
void host_mmio_unregister_all(void);

#endif
