/*
 * Tests for drivers/virtqueue.c on its own, with the test playing the device
 * by writing the used ring directly: what QEMU's in-order virtio-net never
 * does (completions out of order, ids that name nothing) and the pure
 * event-index arithmetic. The driver-and-device behaviour is in
 * test_virtio_net.c.
 */
#include <criterion/criterion.h>
#include <stdint.h>

#include "drivers/virtqueue.h"
#include "kernel/dma.h"
#include "net/errno.h"
#include "tests/models/host_platform.h"

static struct virtqueue vq;
static uint16_t doorbell;            /* plain memory: no model claims it */
static int cookie_of[16];

static void teardown(void)
{
    host_dma_free_all();
}

TestSuite(virtqueue, .fini = teardown);

static void init_queue(uint16_t size, bool event_idx)
{
    cr_assert_eq(virtqueue_init(&vq, 1, size, event_idx), 0);
    vq.notify_addr = &doorbell;
    doorbell = 0xeeee;
}

/* The device returns descriptor id with len bytes. */
static void device_complete(uint32_t id, uint32_t len)
{
    volatile struct virtq_used_elem *e = &vq.used->ring[vq.used->idx & vq.mask];

    e->id = id;
    e->len = len;
    vq.used->idx++;
}

static uint16_t head_at(uint16_t avail_slot)
{
    return vq.avail->ring[avail_slot & vq.mask];
}

Test(virtqueue, init_rejects_sizes_that_are_not_powers_of_two)
{
    cr_assert_eq(virtqueue_init(&vq, 0, 0, false), -PM_EINVAL);
    cr_assert_eq(virtqueue_init(&vq, 0, 100, false), -PM_EINVAL);
    cr_assert_eq(virtqueue_init(&vq, 0, 256, false), 0);
}

Test(virtqueue, init_aligns_and_poisons_the_rings)
{
    init_queue(8, false);
    cr_assert_eq(vq.desc_dma % VIRTQ_DESC_ALIGN, 0);
    cr_assert_eq(vq.avail_dma % VIRTQ_AVAIL_ALIGN, 0);
    cr_assert_eq(vq.used_dma % VIRTQ_USED_ALIGN, 0);
    cr_assert(host_dma_contains(vq.desc_dma, virtq_desc_bytes(8)));
    cr_assert(host_dma_contains(vq.avail_dma, virtq_avail_bytes(8)));
    cr_assert(host_dma_contains(vq.used_dma, virtq_used_bytes(8)));
    for (int i = 0; i < 8; i++) {
        cr_assert_eq(vq.desc[i].addr, ~0ull);
        cr_assert_eq(vq.avail->ring[i], 0xffff);
    }
    cr_assert_eq(vq.avail->idx, 0);
    cr_assert_eq(vq.used->idx, 0);
    cr_assert_eq(vq.avail->flags, VIRTQ_AVAIL_F_NO_INTERRUPT);
    cr_assert_eq(virtqueue_nb_free(&vq), 8);
}

Test(virtqueue, event_idx_keeps_flags_zero_and_used_event_behind)
{
    init_queue(8, true);
    cr_assert_eq(vq.avail->flags, 0);
    cr_assert_eq(*vq.used_event, 0xffff);
    cr_assert_eq((uintptr_t)vq.used_event, (uintptr_t)vq.avail + 4 + 2 * 8);
    cr_assert_eq((uintptr_t)vq.avail_event, (uintptr_t)vq.used + 4 + 8 * 8);
}

Test(virtqueue, buffers_are_invisible_until_published)
{
    init_queue(8, false);
    cr_assert(virtqueue_add(&vq, &cookie_of[0], 0x1000, 100, VIRTQ_DESC_F_WRITE));
    cr_assert_eq(vq.avail->idx, 0);
    virtqueue_publish(&vq);
    cr_assert_eq(vq.avail->idx, 1);
    cr_assert_eq(vq.desc[head_at(0)].addr, 0x1000);
    cr_assert_eq(vq.desc[head_at(0)].len, 100);
    cr_assert_eq(vq.desc[head_at(0)].flags, VIRTQ_DESC_F_WRITE);
}

Test(virtqueue, completions_out_of_order_free_the_right_descriptors)
{
    void *cookies[8];
    uint32_t lens[8];
    uint16_t heads[4];

    init_queue(8, false);
    for (int i = 0; i < 4; i++)
        cr_assert(virtqueue_add(&vq, &cookie_of[i], 0x1000 * (i + 1), 64, 0));
    virtqueue_publish(&vq);
    for (uint16_t i = 0; i < 4; i++)
        heads[i] = head_at(i);
    device_complete(heads[2], 20);
    device_complete(heads[0], 0);
    device_complete(heads[3], 30);
    cr_assert_eq(virtqueue_nb_used(&vq), 3);
    cr_assert_eq(virtqueue_dequeue(&vq, cookies, lens, 8), 3);
    cr_assert_eq(cookies[0], &cookie_of[2]);
    cr_assert_eq(lens[0], 20);
    cr_assert_eq(cookies[1], &cookie_of[0]);
    cr_assert_eq(cookies[2], &cookie_of[3]);
    cr_assert_eq(virtqueue_nb_free(&vq), 7);
    /* The freed ids are reused; the one still out is not. */
    for (int i = 4; i < 11; i++)
        cr_assert(virtqueue_add(&vq, &cookie_of[i], 0x9000, 64, 0));
    cr_assert_not(virtqueue_add(&vq, &cookie_of[11], 0x9000, 64, 0), "full");
    for (uint16_t s = 4; s < 11; s++)
        cr_assert_neq(head_at(s), heads[1], "descriptor %u is still the device's", heads[1]);
}

Test(virtqueue, used_entries_naming_no_buffer_are_counted_and_skipped)
{
    void *cookies[8];
    uint32_t lens[8];

    init_queue(8, false);
    cr_assert(virtqueue_add(&vq, &cookie_of[0], 0x1000, 64, 0));
    virtqueue_publish(&vq);
    device_complete(99, 0);                  /* out of range */
    device_complete(head_at(0), 5);
    device_complete(head_at(0), 5);          /* returned twice */
    cr_assert_eq(virtqueue_dequeue(&vq, cookies, lens, 8), 1);
    cr_assert_eq(cookies[0], &cookie_of[0]);
    cr_assert_eq(vq.nb_bad_used, 2);
    cr_assert_eq(virtqueue_nb_free(&vq), 8);
}

Test(virtqueue, dequeue_takes_at_most_what_is_asked)
{
    void *cookies[8];
    uint32_t lens[8];

    init_queue(8, true);
    for (int i = 0; i < 5; i++)
        cr_assert(virtqueue_add(&vq, &cookie_of[i], 0x1000, 64, 0));
    virtqueue_publish(&vq);
    for (uint16_t i = 0; i < 5; i++)
        device_complete(head_at(i), i);
    cr_assert_eq(virtqueue_dequeue(&vq, cookies, lens, 2), 2);
    cr_assert_eq(*vq.used_event, 1, "one behind what was consumed");
    cr_assert_eq(virtqueue_dequeue(&vq, cookies, lens, 8), 3);
    cr_assert_eq(lens[2], 4);
    cr_assert_eq(*vq.used_event, 4);
}

Test(virtqueue, need_event_is_true_only_when_the_batch_crosses_the_event)
{
    cr_assert(virtq_need_event(0, 1, 0));
    cr_assert(virtq_need_event(5, 8, 4));
    cr_assert_not(virtq_need_event(3, 8, 4), "already past it");
    cr_assert_not(virtq_need_event(8, 8, 4), "not reached yet");
    cr_assert(virtq_need_event(0xffff, 2, 0xfffe), "across the 16-bit wrap");
    cr_assert(virtq_need_event(0, 4, 65530));
    cr_assert_not(virtq_need_event(7, 7, 7), "an empty batch never needs one");
}

Test(virtqueue, kick_obeys_no_notify_without_event_idx)
{
    init_queue(8, false);
    cr_assert(virtqueue_add(&vq, &cookie_of[0], 0x1000, 64, 0));
    virtqueue_publish(&vq);
    cr_assert(virtqueue_kick(&vq));
    cr_assert_eq(doorbell, 1, "the queue's index");
    cr_assert_not(virtqueue_kick(&vq), "nothing new");
    vq.used->flags = VIRTQ_USED_F_NO_NOTIFY;
    cr_assert(virtqueue_add(&vq, &cookie_of[1], 0x1000, 64, 0));
    virtqueue_publish(&vq);
    cr_assert_not(virtqueue_kick(&vq));
    cr_assert_eq(vq.nb_notify, 1);
    cr_assert_eq(vq.nb_notify_suppressed, 1);
}

Test(virtqueue, kick_obeys_avail_event_with_event_idx)
{
    init_queue(8, true);
    vq.used->flags = VIRTQ_USED_F_NO_NOTIFY;     /* ignored with EVENT_IDX */
    *vq.avail_event = 2;                         /* "tell me when entry 2 is out" */
    cr_assert(virtqueue_add(&vq, &cookie_of[0], 0x1000, 64, 0));
    cr_assert(virtqueue_add(&vq, &cookie_of[1], 0x1000, 64, 0));
    virtqueue_publish(&vq);
    cr_assert_not(virtqueue_kick(&vq), "entries 0 and 1");
    cr_assert(virtqueue_add(&vq, &cookie_of[2], 0x1000, 64, 0));
    cr_assert(virtqueue_add(&vq, &cookie_of[3], 0x1000, 64, 0));
    virtqueue_publish(&vq);
    cr_assert(virtqueue_kick(&vq), "entries 2 and 3 cross it");
}

Test(virtqueue, detach_returns_every_posted_buffer_once)
{
    void *cookies[3];
    unsigned seen[16] = { 0 };
    unsigned total = 0;
    uint16_t n;

    init_queue(8, false);
    for (int i = 0; i < 7; i++)
        cr_assert(virtqueue_add(&vq, &cookie_of[i], 0x1000, 64, 0));
    virtqueue_publish(&vq);
    device_complete(head_at(0), 0);              /* returned but not dequeued */
    while ((n = virtqueue_detach(&vq, cookies, 3)) > 0) {
        for (uint16_t i = 0; i < n; i++)
            seen[(int *)cookies[i] - cookie_of]++;
        total += n;
    }
    cr_assert_eq(total, 7);
    for (int i = 0; i < 7; i++)
        cr_assert_eq(seen[i], 1);
    cr_assert_eq(virtqueue_nb_free(&vq), 8);
}

/* ---- interrupts asked for around an idle halt ---- */

/* Would a device that just moved used->idx from old to new interrupt?
 * (2.6.7.2 with EVENT_IDX; QEMU's virtio_split_should_notify.) */
static bool device_would_interrupt(uint16_t old, uint16_t new_idx)
{
    if (vq.event_idx)
        return virtq_need_event(*vq.used_event, new_idx, old);
    return !(vq.avail->flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

/* Posts n buffers so the test's device can return them. */
static void post(unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        cr_assert(virtqueue_add(&vq, &cookie_of[i % 16], 0x1000, 64, VIRTQ_DESC_F_WRITE));
    virtqueue_publish(&vq);
}

static void complete_next(void)
{
    device_complete(head_at(vq.used->idx), 64);
}

Test(virtqueue, event_idx_arming_points_used_event_at_the_next_entry)
{
    void *cookies[8];
    uint32_t lens[8];

    init_queue(8, true);
    post(8);
    complete_next();
    complete_next();
    cr_assert_eq(virtqueue_dequeue(&vq, cookies, lens, 8), 2);
    cr_assert_eq(*vq.used_event, 1, "disarmed: one behind last_used (2)");
    cr_assert_not(device_would_interrupt(2, 3));
    cr_assert(virtqueue_enable_interrupts(&vq, 1), "nothing waiting");
    cr_assert_eq(*vq.used_event, 2, "armed: the index of the next used entry");
    cr_assert_eq(vq.avail->flags, 0, "2.6.7.1: flags stay 0 with EVENT_IDX");
    cr_assert(device_would_interrupt(2, 3), "the next entry interrupts");
    virtqueue_disable_interrupts(&vq);
    cr_assert_eq(*vq.used_event, 1);
    cr_assert_not(device_would_interrupt(2, 3));
    cr_assert_eq(vq.avail->flags, 0);
}

Test(virtqueue, flags_arming_clears_no_interrupt)
{
    init_queue(8, false);
    post(4);
    cr_assert_eq(vq.avail->flags, VIRTQ_AVAIL_F_NO_INTERRUPT);
    cr_assert(virtqueue_enable_interrupts(&vq, 1));
    cr_assert_eq(vq.avail->flags, 0);
    cr_assert(device_would_interrupt(0, 1));
    virtqueue_disable_interrupts(&vq);
    cr_assert_eq(vq.avail->flags, VIRTQ_AVAIL_F_NO_INTERRUPT);
    cr_assert_not(device_would_interrupt(0, 1));
}

/* The race the second look exists for: the device used an entry while the
 * driver still read "no interrupt wanted", so it will never interrupt for
 * that entry; arming must say so instead of letting the CPU sleep on it. */
static void arming_after_an_unseen_entry_reports_it(bool event_idx)
{
    void *cookies[8];
    uint32_t lens[8];

    init_queue(8, event_idx);
    post(8);
    uint16_t old = vq.used->idx;
    complete_next();                 /* the device, before the driver arms */
    cr_assert_not(device_would_interrupt(old, vq.used->idx), "disarmed: no interrupt");
    cr_assert_not(virtqueue_enable_interrupts(&vq, 1), "an entry is waiting: poll, do not halt");
    cr_assert(vq.interrupts_on, "interrupts stay asked for until disabled");
    cr_assert_eq(virtqueue_dequeue(&vq, cookies, lens, 8), 1);
    if (event_idx)
        cr_assert_eq(*vq.used_event, 1, "still armed after the dequeue: next entry 1");
    cr_assert(virtqueue_enable_interrupts(&vq, 1), "empty again");
    virtqueue_disable_interrupts(&vq);
    cr_assert_not(vq.interrupts_on);
}

Test(virtqueue, arming_after_an_unseen_entry_reports_it_event_idx)
{
    arming_after_an_unseen_entry_reports_it(true);
}

Test(virtqueue, arming_after_an_unseen_entry_reports_it_flags)
{
    arming_after_an_unseen_entry_reports_it(false);
}

/* Like QEMU: one used entry at a time, each followed by the interrupt
 * decision against the index of the previous one. Returns the number of
 * waiting entries at which the device interrupted, 0 if it never did. */
static unsigned device_fill_until_interrupt(unsigned max)
{
    for (unsigned i = 0; i < max; i++) {
        uint16_t old = vq.used->idx;

        complete_next();
        if (device_would_interrupt(old, vq.used->idx))
            return virtqueue_nb_used(&vq);
    }
    return 0;
}

Test(virtqueue, coalesced_arming_interrupts_once_nb_entries_wait)
{
    void *cookies[64];
    uint32_t lens[64];

    init_queue(64, true);
    post(64);
    cr_assert(virtqueue_enable_interrupts(&vq, 8), "nothing waiting");
    cr_assert_eq(*vq.used_event, 7, "the 8th entry from last_used 0 crosses it");
    cr_assert_eq(device_fill_until_interrupt(64), 8, "interrupt on the 8th frame, not before");
    virtqueue_disable_interrupts(&vq);
    cr_assert_eq(virtqueue_dequeue(&vq, cookies, lens, 64), 8);
    post(8);
    /* Three already wait when the driver arms: five more make the batch. */
    complete_next();
    complete_next();
    complete_next();
    cr_assert(virtqueue_enable_interrupts(&vq, 8), "3 of 8 waiting: halt");
    cr_assert_eq(device_fill_until_interrupt(64), 8, "counted from last_used, not from arming");
    virtqueue_disable_interrupts(&vq);
    cr_assert_not(virtqueue_enable_interrupts(&vq, 8), "8 wait: poll, do not halt");
    cr_assert(virtqueue_enable_interrupts(&vq, 9), "8 of 9 waiting");
    cr_assert_eq(device_fill_until_interrupt(1), 9);
    virtqueue_disable_interrupts(&vq);
}

Test(virtqueue, coalesced_arming_across_the_16_bit_wrap)
{
    void *cookies[16];
    uint32_t lens[16];

    init_queue(16, true);
    post(16);
    while (vq.last_used < 65530) {   /* walk the indices up to the wrap */
        complete_next();
        cr_assert_eq(virtqueue_dequeue(&vq, cookies, lens, 16), 1);
        post(1);
    }
    cr_assert(virtqueue_enable_interrupts(&vq, 12));
    cr_assert_eq(*vq.used_event, (uint16_t)(65530 + 11));
    cr_assert_eq(device_fill_until_interrupt(16), 12, "used->idx wrapped past 0 on the way");
    cr_assert_lt(vq.used->idx, 10);
    virtqueue_disable_interrupts(&vq);
}

Test(virtqueue, coalesced_arming_is_capped_at_the_ring_and_needs_event_idx)
{
    init_queue(8, true);
    post(8);
    cr_assert(virtqueue_enable_interrupts(&vq, 1000));
    cr_assert_eq(device_fill_until_interrupt(8), 8, "at most the whole ring can wait");
    virtqueue_disable_interrupts(&vq);

    init_queue(8, false);            /* flags only: every entry interrupts */
    post(8);
    cr_assert(virtqueue_enable_interrupts(&vq, 4));
    cr_assert_eq(device_fill_until_interrupt(8), 1);
    cr_assert_not(virtqueue_enable_interrupts(&vq, 4), "one waits: without EVENT_IDX, poll");
    virtqueue_disable_interrupts(&vq);
}

Test(virtqueue, disarmed_used_event_stays_behind_across_the_16_bit_wrap)
{
    void *cookies[8];
    uint32_t lens[8];

    init_queue(8, true);
    post(8);
    for (uint32_t i = 0; i < 70000; i++) {
        uint16_t old = vq.used->idx;

        complete_next();
        cr_assert_not(device_would_interrupt(old, vq.used->idx), "entry %u", i);
        cr_assert_eq(virtqueue_dequeue(&vq, cookies, lens, 8), 1);
        post(1);
        if (i % 9999 == 0) {         /* now and then armed, across the wrap too */
            cr_assert(virtqueue_enable_interrupts(&vq, 1));
            cr_assert(device_would_interrupt(vq.used->idx, (uint16_t)(vq.used->idx + 1)));
            virtqueue_disable_interrupts(&vq);
        }
    }
    cr_assert_eq(vq.last_used, (uint16_t)70000);
}
