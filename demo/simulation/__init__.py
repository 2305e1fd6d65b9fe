"""A simulated community whose readers' true tastes are known, to score rankers against those tastes.

Orbit's For You assumes that readers want what they trade. Here every reader has a hidden true taste
(assets, topics, content types, level, languages, creators, novelty and how much quality matters),
and many of them want something else than their trading suggests. Creators write through
`feed.services.publish_post`, the real tagger tags their posts, readers get trading profiles through
the exchange's events, and they read, like, comment, share, follow and click through the services
the web and the API call, day after simulated day, from lists a pluggable ranker orders. At the end
each ranker orders the same unseen recent posts and is scored against the true taste.

The modules, in the order a run uses them:

* `clock`: the simulated clock the services run under, and how rows stamped by the database are
  moved to simulated time;
* `writing`: post texts from the tagger corpus's hand-written skeletons, so the real tagger can read them;
* `community`: the plan of readers, their groups, trading and true tastes, creators and their
  styles, and every post, drawn from a seed without touching the database; `create_accounts`
  then writes the accounts;
* `utility`: the ground truth, `true_utility(taste, posts, at=moment)`, and what trading suggests;
* `rankers`: the pluggable rankers (Orbit's For You, with and without its content-type weights,
  chronological, popularity, the oracle);
* `reading`: what one reader does with a list (examination by position, then views, time spent,
  likes, comments, shares, follows, trade clicks and hides);
* `loop`: the simulated days;
* `evaluation`: NDCG@k against true taste, overall and per reader group, the measured share of
  readers whose taste differs from their trading, and how far the tags agree with the truth;
* `run`: all of it in one call, as the bench and the tests use it, and the report the bench prints;
* `ab`: what an A/B test of a ranker would measure on the community, exactly from the reader model,
  to check the unbiased offline estimate from the impression log (ranking.offline) against.

See docs/ranking.md, "Ranking against true taste: a simulated community".
"""
