/*
 * A software port; see sink_netdev.h.
 */
#include "tests/models/sink_netdev.h"

#include <string.h>

#include "net/pool.h"

static uint16_t sink_rx(struct netdev *dev, struct pktbuf **pkts, uint16_t nb)
{
    struct sink_netdev *s = (struct sink_netdev *)dev;
    uint16_t n = s->nb_rx_queued < nb ? s->nb_rx_queued : nb;
    for (uint16_t i = 0; i < n; i++)
        pkts[i] = s->rx_queue[i];
    memmove(s->rx_queue, s->rx_queue + n, (s->nb_rx_queued - n) * sizeof(s->rx_queue[0]));
    s->nb_rx_queued -= n;
    dev->stats.rx_packets += n;
    return n;
}

static uint16_t sink_tx(struct netdev *dev, struct pktbuf **pkts, uint16_t nb)
{
    struct sink_netdev *s = (struct sink_netdev *)dev;
    uint16_t n = nb < s->tx_room ? nb : s->tx_room;
    for (uint16_t i = 0; i < n; i++) {
        uint32_t k = s->nb_sent++;
        if (k < SINK_KEEP_FRAMES) {
            uint16_t len = pkts[i]->data_len;
            s->kept_len[k] = len;
            memcpy(s->kept[k], pktbuf_data(pkts[i]), len < SINK_KEEP_BYTES ? len : SINK_KEEP_BYTES);
        }
        dev->stats.tx_bytes += pkts[i]->data_len;
    }
    dev->stats.tx_packets += n;
    dev->stats.tx_full += nb - n;
    if (n > 0)
        pktbuf_free_bulk(pkts, n);
    return n;
}

static bool sink_link(struct netdev *dev)
{
    return dev->link_up;
}

static void sink_promisc(struct netdev *dev, bool on)
{
    dev->promisc = on;
}

static void sink_stop(struct netdev *dev)
{
    struct sink_netdev *s = (struct sink_netdev *)dev;
    if (s->nb_rx_queued)
        pktbuf_free_bulk(s->rx_queue, s->nb_rx_queued);
    s->nb_rx_queued = 0;
}

static const struct netdev_ops sink_ops = {
    .rx_burst = sink_rx, .tx_burst = sink_tx, .link_poll = sink_link,
    .set_promisc = sink_promisc, .stop = sink_stop,
};

void sink_netdev_init(struct sink_netdev *s, uint16_t port_id, const uint8_t mac[6],
                      struct pool *pool)
{
    memset(s, 0, sizeof(*s));
    s->nd.ops = &sink_ops;
    s->nd.driver = "sink";
    s->nd.port_id = port_id;
    memcpy(s->nd.mac, mac, 6);
    s->nd.link_up = true;
    s->nd.pool = pool;
    s->tx_room = 0xffff;
}

int sink_netdev_inject(struct sink_netdev *s, const uint8_t *frame, uint16_t len)
{
    if (s->nb_rx_queued == 64 || len > PKTBUF_DATA_ROOM)
        return -1;
    struct pktbuf *b = pool_get(s->nd.pool);
    if (b == NULL)
        return -1;
    memcpy(pktbuf_data(b), frame, len);
    b->data_len = len;
    b->port = s->nd.port_id;
    s->rx_queue[s->nb_rx_queued++] = b;
    return 0;
}
