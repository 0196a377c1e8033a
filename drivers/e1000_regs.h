/*
 * Intel 8254x (82540EM, QEMU's -device e1000) registers and descriptors that
 * drivers/e1000.c uses, and nothing else.
 *
 * Source: PCI/PCI-X Family of Gigabit Ethernet Controllers Software
 * Developer's Manual (the "8254x SDM"), chapter 13 for registers and
 * chapter 3 for descriptors. Offsets are bytes into BAR0, the 128 KiB
 * memory-mapped register window; every register is 32 bits wide and is
 * accessed with 32-bit reads and writes only. Bits are listed under their
 * register; multi-bit fields have a _SHIFT and named values.
 *
 * The descriptors live in ordinary DMA memory. Each is 16 bytes, little
 * endian (x86 is too, so plain fields are enough).
 */
#ifndef PKTMETAL_DRIVERS_E1000_REGS_H
#define PKTMETAL_DRIVERS_E1000_REGS_H

#include <stdint.h>

#include "net/pktbuf.h"

/* ---- general (13.4.1, 13.4.2) ------------------------------------------ */

#define E1000_CTRL   0x0000u                 /* 13.4.1 Device Control */
#define   E1000_CTRL_LRST      (1u << 3)     /* link reset: 0 for normal operation */
#define   E1000_CTRL_ASDE      (1u << 5)     /* auto-speed detection */
#define   E1000_CTRL_SLU       (1u << 6)     /* set link up */
#define   E1000_CTRL_ILOS      (1u << 7)     /* invert loss-of-signal: 0 for copper */
#define   E1000_CTRL_FRCSPD    (1u << 11)    /* force speed */
#define   E1000_CTRL_FRCDPLX   (1u << 12)    /* force duplex */
#define   E1000_CTRL_RST       (1u << 26)    /* global device reset, self-clearing */
#define   E1000_CTRL_VME       (1u << 30)    /* VLAN mode enable */
#define   E1000_CTRL_PHY_RST   (1u << 31)    /* PHY reset */

#define E1000_STATUS 0x0008u                 /* 13.4.2 Device Status (read only) */
#define   E1000_STATUS_LU      (1u << 1)     /* link up */

/* ---- interrupts (13.4.17 - 13.4.21): we poll, so only to mask them ------ */

#define E1000_ICR    0x00c0u                 /* 13.4.17 Interrupt Cause Read, clear on read */
#define E1000_IMS    0x00d0u                 /* 13.4.20 Interrupt Mask Set: never written */
#define E1000_IMC    0x00d8u                 /* 13.4.21 Interrupt Mask Clear (write only) */
#define   E1000_IMC_ALL        0xffffffffu

/* ---- receive (13.4.22 - 13.4.30) --------------------------------------- */

#define E1000_RCTL   0x0100u                 /* 13.4.22 Receive Control */
#define   E1000_RCTL_EN        (1u << 1)     /* receiver enable */
#define   E1000_RCTL_UPE       (1u << 3)     /* unicast promiscuous */
#define   E1000_RCTL_MPE       (1u << 4)     /* multicast promiscuous */
#define   E1000_RCTL_BAM       (1u << 15)    /* broadcast accept mode */
#define   E1000_RCTL_BSIZE_2048 (0u << 16)   /* BSIZE 00b with BSEX 0: 2048 bytes */
#define   E1000_RCTL_SECRC     (1u << 26)    /* strip Ethernet CRC */

#define E1000_RDBAL  0x2800u                 /* 13.4.25 RX Descriptor Base Low */
#define E1000_RDBAH  0x2804u                 /* 13.4.26 RX Descriptor Base High */
#define E1000_RDLEN  0x2808u                 /* 13.4.27 RX Descriptor Length, bytes, 128-multiple */
#define E1000_RDH    0x2810u                 /* 13.4.28 RX Descriptor Head (hardware's) */
#define E1000_RDT    0x2818u                 /* 13.4.29 RX Descriptor Tail (software's) */

/* ---- transmit (13.4.33 - 13.4.40) -------------------------------------- */

#define E1000_TCTL   0x0400u                 /* 13.4.33 Transmit Control */
#define   E1000_TCTL_EN        (1u << 1)     /* transmitter enable */
#define   E1000_TCTL_PSP       (1u << 3)     /* pad short packets to 64 bytes */
#define   E1000_TCTL_CT_SHIFT  4             /* collision threshold (half duplex) */
#define   E1000_TCTL_COLD_SHIFT 12           /* collision distance, byte times */
#define   E1000_TCTL_CT_DEFAULT   0x0fu      /* recommended, Table 13-76 */
#define   E1000_TCTL_COLD_FULL_DUPLEX 0x40u  /* 64-byte time, Table 13-76 */

#define E1000_TIPG   0x0410u                 /* 13.4.34 Transmit Inter-Packet Gap */
#define   E1000_TIPG_IPGT_SHIFT  0
#define   E1000_TIPG_IPGR1_SHIFT 10
#define   E1000_TIPG_IPGR2_SHIFT 20
#define   E1000_TIPG_IPGT_COPPER 10u         /* Table 13-77, 10/100/1000BASE-T */
#define   E1000_TIPG_IPGR1_DEFAULT 8u        /* Table 13-77: 2/3 of IPGR2 */
#define   E1000_TIPG_IPGR2_DEFAULT 6u        /* Table 13-77 */

#define E1000_TDBAL  0x3800u                 /* 13.4.36 TX Descriptor Base Low */
#define E1000_TDBAH  0x3804u                 /* 13.4.37 TX Descriptor Base High */
#define E1000_TDLEN  0x3808u                 /* 13.4.38 TX Descriptor Length, bytes, 128-multiple */
#define E1000_TDH    0x3810u                 /* 13.4.39 TX Descriptor Head (hardware's) */
#define E1000_TDT    0x3818u                 /* 13.4.40 TX Descriptor Tail (software's) */

/* ---- statistics (13.7): clear on read, per the manual ------------------ */

#define E1000_MPC    0x4010u                 /* Missed Packets Count: RX FIFO overflow */

/* ---- address filters (13.5) -------------------------------------------- */

#define E1000_MTA    0x5200u                 /* 13.5.1 Multicast Table Array, 128 x 32 bits */
#define   E1000_MTA_NB_ENTRIES 128u
#define E1000_RAL0   0x5400u                 /* 13.5.2 Receive Address Low: MAC bytes 0-3 */
#define E1000_RAH0   0x5404u                 /* 13.5.3 Receive Address High: MAC bytes 4-5 */
#define   E1000_RAH_AV         (1u << 31)    /* address valid */

/* ---- descriptors (chapter 3) ------------------------------------------- */

/*
 * Table 3-1, Receive Descriptor (RDESC) Layout. Software writes buffer_addr
 * and clears status; hardware writes length, status and errors when it has
 * stored a frame (3.2.3), setting status.DD last.
 */
struct e1000_rdesc {
    dma_addr_t buffer_addr;
    uint16_t length;           /* bytes stored in this buffer */
    uint16_t checksum;         /* packet checksum (unused) */
    uint8_t status;            /* Table 3-2 */
    uint8_t errors;            /* Table 3-3 */
    uint16_t special;          /* VLAN tag (unused) */
};
_Static_assert(sizeof(struct e1000_rdesc) == 16, "RDESC is 16 bytes (Table 3-1)");
_Static_assert(__builtin_offsetof(struct e1000_rdesc, status) == 12, "RDESC status at byte 12");

/* 3.2.3.1, Table 3-2: receive status bits */
#define E1000_RXD_STAT_DD    (1u << 0)       /* descriptor done */
#define E1000_RXD_STAT_EOP   (1u << 1)       /* end of packet: last buffer of the frame */

/* 3.2.3.2, Table 3-3: receive error bits. The checksum errors (TCPE, IPE)
 * only say that an offload check failed; the frame itself is intact, so
 * only the frame errors below make us drop it. */
#define E1000_RXD_ERR_CE     (1u << 0)       /* CRC or alignment error */
#define E1000_RXD_ERR_SE     (1u << 1)       /* symbol error (TBI) */
#define E1000_RXD_ERR_SEQ    (1u << 2)       /* sequence error (TBI) */
#define E1000_RXD_ERR_CXE    (1u << 4)       /* carrier extension error */
#define E1000_RXD_ERR_RXE    (1u << 7)       /* RX data error */
#define E1000_RXD_ERR_FRAME  (E1000_RXD_ERR_CE | E1000_RXD_ERR_SE | E1000_RXD_ERR_SEQ | \
                              E1000_RXD_ERR_CXE | E1000_RXD_ERR_RXE)

/*
 * Table 3-8, Transmit Descriptor (TDESC) Layout – Legacy Mode (3.3.3).
 * cmd bit 5 (DEXT) = 0 is what makes it a legacy descriptor.
 */
struct e1000_tdesc_legacy {
    dma_addr_t buffer_addr;
    uint16_t length;           /* bytes to send from this buffer */
    uint8_t cso;               /* checksum offset (unused) */
    uint8_t cmd;               /* 3.3.3.1 */
    uint8_t status;            /* 3.3.3.2, low nibble; high nibble reserved */
    uint8_t css;               /* checksum start (unused) */
    uint16_t special;          /* VLAN tag (unused) */
};
_Static_assert(sizeof(struct e1000_tdesc_legacy) == 16, "TDESC is 16 bytes (Table 3-8)");
_Static_assert(__builtin_offsetof(struct e1000_tdesc_legacy, status) == 12,
               "TDESC status at byte 12");

/* 3.3.3.1: legacy command bits */
#define E1000_TXD_CMD_EOP    (1u << 0)       /* end of packet */
#define E1000_TXD_CMD_IFCS   (1u << 1)       /* insert FCS (Ethernet CRC) */
#define E1000_TXD_CMD_RS     (1u << 3)       /* report status: write DD back */

/* 3.3.3.2: legacy status bits */
#define E1000_TXD_STAT_DD    (1u << 0)       /* descriptor done */

/* 3.3.3: "The maximum length associated with any single legacy descriptor
 * is 16288 bytes." */
#define E1000_TXD_MAX_LEN    16288u

/* 3.2.6 / 3.4, 13.4.27, 13.4.38: ring bases are 16-byte aligned (RDBAL/TDBAL
 * bits 3:0 read as zero) and ring lengths multiples of 128 bytes, i.e. of 8
 * descriptors. */
#define E1000_RING_LEN_MULTIPLE 128u

#endif
