"""The site benchmark (`make bench-site`): what keeping the whole site current costs, and how
fresh it stays. Four parts, results to `bench/results/site.json`:

- cost (`bench.site.cost`): site pages built and written, bytes and CPU per new story, at a
  small and a large archive side by side (render's and publish's own code in one process,
  against Valkey and SeaweedFS of its own);
- freshness (`bench.site.freshness`): on a fresh local stack with an archive pushed first, new
  stories offered open loop at each rate, and the time from ingest's 202 to the story being on
  home, its section, its tags, their feeds and the Google News sitemap;
- rebuild: `wirepress site rebuild` on that stack, pages a second;
- hugo (`bench.site.hugo`): Debian's `hugo` building the same archive with sections, tags, RSS,
  sitemap and `.Related`, for comparison.
"""
