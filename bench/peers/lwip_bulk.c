/* The lwIP peer of Gantry's in-memory TCP bulk benchmark (bench/run): one
 * lwIP 2.1 stack (Debian's liblwip-dev, raw API, single-threaded: lwip_init
 * and sys_check_timeouts, no tcpip thread) with two IPv4 netifs wired by a
 * function-call queue. Each packet a netif outputs is copied into a fresh
 * pbuf (as a NIC copies a frame) and handed to the other netif's input, so
 * every segment crosses IPv4 and TCP on both sides, checksums included.
 * A client pcb bound to netif A writes N bytes to a listener bound to netif
 * B, which consumes them. Prints "lwip_bulk BYTES WALL_S CPU_S GBITPS_BY_CPU":
 * the rate over the process's CPU time, which a busy shared machine does not
 * distort the way it does wall time.
 * Usage: gantry-bench-lwip [MIB] (default 256). */
#include "lwip/init.h"
#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { wire_packets_max = 4096, chunk_bytes = 16384 };

struct wire_packet {
    struct pbuf *p;
    struct netif *to;
};

/* The queue between the two netifs: a ring of packets in flight. */
static struct wire_packet wire[wire_packets_max];
static unsigned wire_head, wire_count;
static struct netif netif_a, netif_b;
static unsigned long long to_send, sent_total, received_total;
static unsigned char chunk[chunk_bytes];
static int failed;

static err_t wire_output(struct netif *from, struct pbuf *p, const ip4_addr_t *next_hop)
{
    (void)next_hop;
    if (wire_count == wire_packets_max)
        return ERR_OK; /* a full wire drops, as a NIC queue would */
    struct pbuf *copy = pbuf_clone(PBUF_RAW, PBUF_RAM, p);
    if (!copy)
        return ERR_MEM;
    wire[(wire_head + wire_count) % wire_packets_max] =
        (struct wire_packet){copy, from == &netif_a ? &netif_b : &netif_a};
    wire_count++;
    return ERR_OK;
}

static void wire_deliver(void)
{
    while (wire_count > 0) {
        struct wire_packet packet = wire[wire_head];
        wire_head = (wire_head + 1) % wire_packets_max;
        wire_count--;
        if (packet.to->input(packet.p, packet.to) != ERR_OK)
            pbuf_free(packet.p);
    }
}

static err_t netif_setup(struct netif *netif)
{
    netif->output = wire_output;
    netif->mtu = 1500;
    netif->flags = NETIF_FLAG_UP | NETIF_FLAG_LINK_UP;
    return ERR_OK;
}

static void client_fill(struct tcp_pcb *pcb)
{
    while (sent_total < to_send) {
        u16_t room = tcp_sndbuf(pcb);
        unsigned long long left = to_send - sent_total;
        u16_t length = (u16_t)(left < room ? left : room);
        if (length > chunk_bytes)
            length = chunk_bytes;
        if (length == 0 || tcp_write(pcb, chunk, length, TCP_WRITE_FLAG_COPY) != ERR_OK)
            break;
        sent_total += length;
    }
    tcp_output(pcb);
}

static err_t client_sent(void *arg, struct tcp_pcb *pcb, u16_t length)
{
    (void)arg;
    (void)length;
    client_fill(pcb);
    return ERR_OK;
}

static err_t client_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
    (void)arg;
    if (err != ERR_OK) {
        failed = 1;
        return err;
    }
    tcp_sent(pcb, client_sent);
    client_fill(pcb);
    return ERR_OK;
}

static err_t server_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    (void)arg;
    (void)err;
    if (!p)
        return ERR_OK;
    received_total += p->tot_len;
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
    return ERR_OK;
}

static err_t server_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    (void)arg;
    if (err != ERR_OK || !pcb)
        return ERR_VAL;
    tcp_recv(pcb, server_recv);
    return ERR_OK;
}

static double seconds_of(clockid_t clock)
{
    struct timespec now;
    clock_gettime(clock, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    to_send = (argc > 1 ? strtoull(argv[1], NULL, 10) : 256) * 1024 * 1024;
    memset(chunk, 0x5a, sizeof chunk);
    lwip_init();
    ip4_addr_t a, b, mask, none;
    IP4_ADDR(&a, 10, 0, 1, 1);
    IP4_ADDR(&b, 10, 0, 2, 1);
    IP4_ADDR(&mask, 255, 255, 255, 0);
    ip4_addr_set_zero(&none);
    netif_add(&netif_b, &b, &mask, &none, NULL, netif_setup, ip4_input);
    netif_add(&netif_a, &a, &mask, &none, NULL, netif_setup, ip4_input);

    struct tcp_pcb *listener = tcp_new();
    tcp_bind_netif(listener, &netif_b);
    ip_addr_t server;
    ip_addr_copy_from_ip4(server, b);
    if (tcp_bind(listener, &server, 5001) != ERR_OK)
        return 1;
    listener = tcp_listen(listener);
    tcp_accept(listener, server_accept);
    struct tcp_pcb *client = tcp_new();
    tcp_bind_netif(client, &netif_a);
    tcp_nagle_disable(client);

    double started = seconds_of(CLOCK_MONOTONIC);
    double cpu_started = seconds_of(CLOCK_PROCESS_CPUTIME_ID);
    tcp_connect(client, &server, 5001, client_connected);
    for (unsigned long long step = 0; received_total < to_send && !failed; step++) {
        wire_deliver();
        if ((step & 63) == 0)
            sys_check_timeouts();
        if (wire_count == 0 && (step & 63) != 0)
            sys_check_timeouts();
    }
    double elapsed = seconds_of(CLOCK_MONOTONIC) - started;
    double cpu = seconds_of(CLOCK_PROCESS_CPUTIME_ID) - cpu_started;
    if (failed || received_total < to_send) {
        fprintf(stderr, "lwip_bulk: the transfer failed after %llu bytes\n", received_total);
        return 1;
    }
    printf("lwip_bulk %llu %.6f %.6f %.3f\n", received_total, elapsed, cpu,
           (double)received_total * 8 / cpu / 1e9);
    return 0;
}
