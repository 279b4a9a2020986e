"""The national interlinking software adapter (Decree 63/2024/NĐ-CP): client and simulator.

The protocol is the project's own design (docs/interlinking-protocol.md): no public source gives
the real interface. Keep the endpoint configurable: from 1 Jan 2027 the software moves into the
national portal's coordination system (domain.md §8).
"""
