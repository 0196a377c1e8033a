/*
 * l2fwd and reflect decisions; see fwd.h.
 */
#include "net/fwd.h"

uint16_t fwd_out_port(enum config_mode mode, uint16_t in_port, uint16_t nb_ports)
{
    if (in_port >= nb_ports)
        return FWD_NO_PORT;
    if (mode == CONFIG_MODE_REFLECT)
        return in_port;
    uint16_t pair = in_port ^ 1;
    return pair < nb_ports ? pair : FWD_NO_PORT;
}

void fwd_peer_mac(const struct config *cfg, uint16_t port, uint8_t mac[6])
{
    if (port < CONFIG_MAX_PORTS && cfg->ports[port].has_peer_mac) {
        for (int i = 0; i < 6; i++)
            mac[i] = cfg->ports[port].peer_mac[i];
        return;
    }
    /* DPDK l2fwd's default: locally administered 02:00:00:00:00:<port>. */
    mac[0] = 0x02;
    mac[1] = mac[2] = mac[3] = mac[4] = 0;
    mac[5] = (uint8_t)port;
}

void fwd_rewrite_l2fwd(uint8_t *frame, const uint8_t out_mac[6], const uint8_t peer_mac[6])
{
    for (int i = 0; i < 6; i++) {
        frame[i] = peer_mac[i];
        frame[6 + i] = out_mac[i];
    }
}

void fwd_rewrite_reflect(uint8_t *frame)
{
    for (int i = 0; i < 6; i++) {
        uint8_t t = frame[i];
        frame[i] = frame[6 + i];
        frame[6 + i] = t;
    }
}
