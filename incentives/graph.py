"""The week's graph of readers and creators, with sparse matrices: dense blocks (FRAUDAR) and
trust from seeds (SybilRank, `degree_normalised_trust`).

FRAUDAR (Hooi, Song, Beutel, Shah, Shin, Faloutsos, "FRAUDAR: Bounding Graph Fraud in the Face of
Camouflage", KDD 2016) looks for the subgraph S of readers and creators that maximises

    g(S) = f(S) / |S|,    f(S) = Σ over edges (reader, creator) inside S of 1 / log(degree(creator) + c)

Weighing each edge by the inverse log of its creator's audience is what resists camouflage: a farm
that also engages popular creators to look ordinary adds edges worth little, while its edges to the
few small creators it is paid to lift weigh the most. FRAUDAR removes one node at a time; here the
nodes are peeled in batches, after Bahmani, Kumar, Vassilvitskii ("Densest Subgraph in Streaming
and MapReduce", VLDB 2012): every round drops each node whose weighted degree is within (1 + ε) of
the lowest (and at least the lowest 2% of the nodes left), which follows FRAUDAR's one-at-a-time
order up to ties within ε and the batch, and costs one sparse matrix-vector product per round.
(Bahmani's own threshold, 2(1 + ε) times the density, is too coarse for a bipartite graph: the
readers of a farm have a small degree and would go in the first round with everyone else.) The
work is proportional to the number of distinct reader-creator pairs, never to the number of
events; `max_rounds` bounds it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse


@dataclass(frozen=True)
class Block:
    readers: np.ndarray  # reader ids
    creators: np.ndarray  # creator ids
    density: float  # g(S) of the block
    fill: float  # the share of the graph's possible reader-creator pairs that are edges


def densest_block(
    reader_ids: np.ndarray,
    creator_ids: np.ndarray,
    *,
    c: float = 5.0,
    epsilon: float = 0.1,
    batch: float = 0.02,
    max_rounds: int = 2000,
) -> Block | None:
    """The densest block among the edges (reader_ids[i], creator_ids[i]), one edge per pair."""
    if len(reader_ids) == 0:
        return None
    readers, reader_index = np.unique(reader_ids, return_inverse=True)
    creators, creator_index = np.unique(creator_ids, return_inverse=True)
    audience = np.bincount(creator_index, minlength=len(creators))
    weights = 1.0 / np.log(audience[creator_index] + c)
    matrix = sparse.csr_matrix((weights, (reader_index, creator_index)), shape=(len(readers), len(creators)))
    transposed = matrix.T.tocsr()
    alive_readers = np.ones(len(readers), dtype=bool)
    alive_creators = np.ones(len(creators), dtype=bool)
    best: tuple[float, np.ndarray, np.ndarray] = (-1.0, alive_readers, alive_creators)
    for _round in range(max_rounds):
        if not (alive_readers.any() and alive_creators.any()):
            break
        reader_degree = (matrix @ alive_creators.astype(float)) * alive_readers
        creator_degree = (transposed @ alive_readers.astype(float)) * alive_creators
        mass = float(reader_degree.sum())
        density = mass / (alive_readers.sum() + alive_creators.sum())
        if density > best[0]:
            best = (density, alive_readers.copy(), alive_creators.copy())
        if mass == 0:
            break
        degrees = np.concatenate([reader_degree[alive_readers], creator_degree[alive_creators]])
        # Within ε of the lowest, and at least the lowest `batch` share of the nodes left, so a
        # graph of millions takes a few hundred rounds, not one per distinct degree.
        threshold = max((1 + epsilon) * degrees.min(), float(np.quantile(degrees, batch)))
        alive_readers &= reader_degree > threshold
        alive_creators &= creator_degree > threshold
    density, in_readers, in_creators = best
    return Block(
        readers=readers[in_readers],
        creators=creators[in_creators],
        density=density,
        fill=len(reader_ids) / (len(readers) * len(creators)),
    )


def degree_normalised_trust(
    sources: np.ndarray, targets: np.ndarray, seeds: np.ndarray, *, iterations: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Trust that short random walks from trusted seeds leave on each account (SybilRank).

    SybilRank (Cao, Sirivianos, Yang, Pregueiro, "Aiding the Detection of Fake Accounts in Large
    Scale Online Social Services", NSDI 2012) spreads trust from seeds known to be honest along the
    graph's edges and stops after O(log n) steps, before it mixes into the few edges that join a
    sybil region to the honest one: accounts reached only through those edges are left with little
    trust however many of them there are. Ranked by trust over degree, so a hub is not trusted for
    its many edges.

    The graph here is who engaged whom in the week (readers and creators, undirected, one edge per
    pair). It is close to bipartite, where a plain walk oscillates between readers and creators, so
    the walk is lazy (half the trust stays each step) and runs ⌈2 log2 n⌉ steps. Returns the
    accounts and their trust over degree, scaled so that 1 is what a fully mixed walk leaves on
    everyone: honest accounts are near 1, accounts the seeds cannot reach are at 0.
    """
    nodes, index = np.unique(np.concatenate([sources, targets]), return_inverse=True)
    count = len(nodes)
    if count == 0:
        return nodes, np.zeros(0)
    head, tail = index[: len(sources)], index[len(sources) :]
    loops = head == tail
    adjacency = sparse.coo_matrix(
        (np.ones(int((~loops).sum())), (head[~loops], tail[~loops])), shape=(count, count)
    ).tocsr()
    adjacency = ((adjacency + adjacency.T) > 0).astype(float)
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    has_edges = degree > 0
    # Row-stochastic walk matrix; an account with no edge keeps its trust.
    walk = sparse.diags(np.where(has_edges, 1.0 / np.maximum(degree, 1), 0.0)) @ adjacency
    seeded = np.isin(nodes, seeds) & has_edges
    trust = np.zeros(count)
    if not seeded.any():
        return nodes, trust
    trust[seeded] = count / seeded.sum()
    steps = iterations if iterations is not None else int(np.ceil(2 * np.log2(max(count, 2))))
    transposed = walk.T.tocsr()
    for _step in range(steps):
        trust = 0.5 * trust + 0.5 * (transposed @ trust)
    ratio = np.zeros(count)
    ratio[has_edges] = trust[has_edges] / degree[has_edges] * (degree.sum() / count)
    return nodes, ratio
