"""English stopwords for relevance matching (function words plus a few newswire reporting verbs).

Deliberately generic: nothing here is tuned to one corpus. Topic-neutral but frequent content words
are left to idf, which down-weights them per archive.
"""

from __future__ import annotations

__all__ = ["STOPWORDS"]

_WORDS = """
a about above across after afterwards again against all almost alone along already also although
always am among amongst an and another any anyhow anyone anything anyway anywhere are aren't around
as at back be became because become becomes becoming been before beforehand behind being below
beside besides between beyond both but by can cannot can't could couldn't did didn't do does
doesn't doing done don't down during each either else elsewhere enough etc even ever every
everyone everything everywhere except few for former formerly from further had hadn't has hasn't
have haven't having he hence her here hereafter hereby herein hers herself him himself his how
however i if in indeed into is isn't it its it's itself just last latter latterly least less
made make many may me meanwhile might more moreover most mostly much must my myself namely neither
never nevertheless next no nobody none noone nor not nothing now nowhere of off often on once one
only onto or other others otherwise our ours ourselves out over own per perhaps please put quite
rather re really same seem seemed seeming seems several she should shouldn't since so some
somehow someone something sometime sometimes somewhere still such than that that's the their
theirs them themselves then thence there thereafter thereby therefore therein thereupon these they
this those though through throughout thru thus to together too toward towards under until up upon
us very via was wasn't we well were weren't what whatever when whence whenever where whereafter
whereas whereby wherein whereupon wherever whether which while whither who whoever whole whom whose
why will with within without won't would wouldn't yet you your yours yourself yourselves
said says say saying told tell tells according added adding also mr mrs ms dr
"""

STOPWORDS: frozenset[str] = frozenset(_WORDS.split())
