/*
 * Virtio over PCI, the modern (1.x) interface: VIRTIO 1.1, section 4.1.
 *
 * A modern virtio function describes its register blocks with vendor-specific
 * PCI capabilities (cap id 0x09), each naming a BAR, an offset and a length:
 *
 *   config space                          BAR (QEMU: BAR 4, 64-bit, 16 KiB)
 *   +----------------------+              +-----------------------------+
 *   | cap: COMMON  ------------------->   | common cfg (features, status,|
 *   | cap: ISR     ------------------->   |   queue select/size/address) |
 *   | cap: DEVICE  ------------------->   | ISR status (unused: polling) |
 *   | cap: NOTIFY  ------------------->   | device cfg (virtio-net: MAC, |
 *   |   + notify_off_multiplier      |    |   link status)               |
 *   | cap: MSI-X (0x11) ---------+        | notify: one doorbell per     |
 *   +----------------------+     |        |   queue_notify_off * mult    |
 *                                |        +-----------------------------+
 *                                +----->  BAR 1: MSI-X table (QEMU: 4 entries)
 *
 * The driver polls. The one interrupt it may ask for is the RX queue's
 * MSI-X vector, whose message goes straight to the local APIC to end an
 * idle halt (kernel/idle.c); the configuration vector stays NO_VECTOR.
 *
 * This file finds those blocks through the BARs the kernel already mapped
 * uncached (dev->bar[i].base), drives the status handshake and feature
 * negotiation (3.1.1) and programs split virtqueues into the device.
 * QEMU's transitional virtio-net-pci (1af4:1000) has the same capabilities
 * next to its legacy I/O BAR; the legacy BAR is never touched here.
 * What a device does with its queues is the device driver's business
 * (virtio_net.c); the ring itself is virtqueue.c.
 */
#ifndef PKTMETAL_DRIVERS_VIRTIO_PCI_H
#define PKTMETAL_DRIVERS_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "drivers/virtqueue.h"
#include "kernel/pci.h"

#define VIRTIO_PCI_VENDOR           0x1af4u

/* device_status bits (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE   0x01u
#define VIRTIO_STATUS_DRIVER        0x02u
#define VIRTIO_STATUS_DRIVER_OK     0x04u
#define VIRTIO_STATUS_FEATURES_OK   0x08u
#define VIRTIO_STATUS_NEEDS_RESET   0x40u
#define VIRTIO_STATUS_FAILED        0x80u

/* Feature bits that belong to the transport and ring (6). */
#define VIRTIO_F_RING_EVENT_IDX     29
#define VIRTIO_F_VERSION_1          32

/* queue_msix_vector / msix_config value meaning "no interrupt" (4.1.4.3). */
#define VIRTIO_MSI_NO_VECTOR        0xffffu

#define VIRTIO_PCI_RESET_TIMEOUT_US 100000u

/* The mapped register blocks of one modern virtio function. */
struct virtio_pci {
    const struct pci_cfg_ops *pci;
    struct pci_dev dev;                 /* a copy: the caller's may be on its stack */
    volatile uint8_t *common;           /* struct virtio_pci_common_cfg */
    volatile uint8_t *isr;
    volatile uint8_t *device_cfg;
    uint32_t device_cfg_bytes;
    volatile uint8_t *notify;
    uint32_t notify_bytes;
    uint32_t notify_off_multiplier;
    struct pci_msix msix;
    bool has_msix;                      /* capability found, table in a mapped BAR */
    bool msix_on;                       /* virtio_pci_msix_setup() done */
};

/*
 * Finds the common, notify, ISR and device capabilities and maps them
 * through dev's memory BARs. Returns 0, or -PM_ENODEV when a required block
 * is missing or points outside its BAR (a legacy-only device, or firmware
 * that left the BAR unassigned).
 */
int virtio_pci_probe(struct virtio_pci *vp, const struct pci_cfg_ops *pci,
                     const struct pci_dev *dev);

/* Memory decode and bus mastering on, INTx off (this driver polls). */
void virtio_pci_enable_function(struct virtio_pci *vp);

/*
 * Turns MSI-X on with table entry `entry` sending (addr, data), unmasked.
 * Do it before the queues are set up: a queue vector means something only
 * while MSI-X is enabled (4.1.5.1.2). 0, -PM_ENOENT (no MSI-X capability,
 * or its table is not in a mapped memory BAR) or -PM_EINVAL (no such
 * entry).
 */
int virtio_pci_msix_setup(struct virtio_pci *vp, uint16_t entry, uint64_t addr, uint32_t data);

/* Writes 0 to device_status and waits until it reads 0 (4.1.4.3.2).
 * 0, or -PM_ETIMEDOUT after timeout_us. */
int virtio_pci_reset(struct virtio_pci *vp, uint32_t timeout_us);
uint8_t virtio_pci_get_status(struct virtio_pci *vp);
/* ORs bits into device_status: the driver never clears a bit but by reset. */
void virtio_pci_add_status(struct virtio_pci *vp, uint8_t bits);

uint64_t virtio_pci_device_features(struct virtio_pci *vp);
void virtio_pci_set_driver_features(struct virtio_pci *vp, uint64_t features);
/* Sets FEATURES_OK and reads it back: false when the device refused the
 * features written (3.1.1 step 6). */
bool virtio_pci_features_ok(struct virtio_pci *vp);

/* Queues the device offers; config interrupts off. */
uint16_t virtio_pci_num_queues(struct virtio_pci *vp);
void virtio_pci_disable_config_vector(struct virtio_pci *vp);

/* Largest size queue `index` takes (0: the queue does not exist). */
uint16_t virtio_pci_queue_max_size(struct virtio_pci *vp, uint16_t index);
/*
 * Programs an initialised virtqueue into the device: size, ring addresses,
 * MSI-X vector *vector (VIRTIO_MSI_NO_VECTOR: none), then queue_enable
 * (4.1.5.1.3). Fills in vq->notify_addr. A vector the device cannot map
 * reads back as NO_VECTOR, and *vector says what it took. 0, or -PM_EIO
 * when it reads back anything else or the doorbell is outside the notify
 * block.
 */
int virtio_pci_queue_enable(struct virtio_pci *vp, struct virtqueue *vq, uint16_t *vector);

/* Device-specific configuration, read with the field's own width (4.1.3.1). */
uint8_t virtio_pci_cfg_read8(struct virtio_pci *vp, uint32_t off);
uint16_t virtio_pci_cfg_read16(struct virtio_pci *vp, uint32_t off);
/* Changes whenever the device changes its configuration: read it before and
 * after a multi-field read and retry if it moved (2.4). */
uint8_t virtio_pci_config_generation(struct virtio_pci *vp);

#endif
