/*
 * DMA memory for drivers: descriptor rings and device-shared structures.
 *
 * dma_alloc() hands out zeroed, physically contiguous memory that is never
 * freed (rings live as long as the machine). On the image it comes from the
 * kernel heap (mm.c); in host tests from tests/models/host_platform.c, which
 * also lets a device model check that a descriptor points into DMA memory.
 * dma_addr() is the one place a CPU pointer becomes a device address.
 */
#ifndef PKTMETAL_KERNEL_DMA_H
#define PKTMETAL_KERNEL_DMA_H

#include <stddef.h>
#include <stdint.h>

#include "net/pktbuf.h"

void *dma_alloc(size_t bytes, size_t align);

static inline dma_addr_t dma_addr(const void *p)
{
    return (dma_addr_t)(uintptr_t)p;      /* identity mapped */
}

/* Read/write ordering between CPU accesses to DMA memory and the device.
 * x86 keeps stores in order and loads in order (SDM vol. 3A, 8.2.2), so a
 * compiler barrier is enough for descriptor memory that is write-back
 * cacheable and coherent; an MMIO doorbell is ordered by io.h. */
#define dma_wmb() __asm__ __volatile__("" ::: "memory")
#define dma_rmb() __asm__ __volatile__("" ::: "memory")

#endif
