-- The floor of the 45-segment bench project, written by hand from its YAML (the example's
-- models/shop.yaml and segments, and bench/project.ts): each event relation scanned once,
-- grouped by its key, for exactly the aggregates the segments read, then joined to the entity.
-- No segment is evaluated and nothing is written. `{{as_of}}` is the run's as_of.
--
-- Windows as the language defines them (docs/language.md): `within: Nd` is
-- as_of - N days < ts <= as_of, `between: [180d, 90d]` is as_of - 180d < ts <= as_of - 90d.
-- The sequence (cart_then_order) reads events, not aggregates, and is not part of the floor.
-- Written the fastest way we know in DuckDB, since a floor is the least an engine must do:
-- count_if rather than count(*) FILTER, and the weeks with a page view as bits OR-ed and
-- counted rather than count(DISTINCT week). The plain forms took 6.0 s against 4.3 s (BENCHMARKS.md).
-- bench/measure.ts checks every column against segc's own scans before it reports a time.

CREATE OR REPLACE TEMP TABLE floor_orders AS
SELECT
  customer_id,
  count_if(category = 'shoes' AND ordered_at > {{as_of}} - INTERVAL 90 DAY) AS shoes_90d,
  count_if(category = 'shoes' AND ordered_at > {{as_of}} - INTERVAL 7 DAY) AS shoes_7d,
  count_if(category = 'apparel' AND ordered_at > {{as_of}} - INTERVAL 90 DAY) AS apparel_90d,
  count_if(category = 'apparel' AND ordered_at > {{as_of}} - INTERVAL 7 DAY) AS apparel_7d,
  count_if(category = 'books' AND ordered_at > {{as_of}} - INTERVAL 365 DAY) AS books_365d,
  count_if(category = 'home' AND ordered_at > {{as_of}} - INTERVAL 30 DAY) AS home_30d,
  sum(amount) FILTER (WHERE category = 'electronics' AND ordered_at > {{as_of}} - INTERVAL 365 DAY) AS electronics_revenue_365d,
  count_if(channel = 'app' AND ordered_at > {{as_of}} - INTERVAL 90 DAY) AS app_90d,
  count_if(channel = 'store' AND ordered_at > {{as_of}} - INTERVAL 365 DAY) AS store_365d,
  count_if(channel = 'web' AND ordered_at > {{as_of}} - INTERVAL 365 DAY) AS web_365d,
  count_if(ordered_at > {{as_of}} - INTERVAL 3 DAY) AS orders_3d,
  count_if(ordered_at > {{as_of}} - INTERVAL 60 DAY) AS orders_60d,
  count_if(ordered_at > {{as_of}} - INTERVAL 90 DAY) AS orders_90d,
  count_if(ordered_at > {{as_of}} - INTERVAL 180 DAY AND ordered_at <= {{as_of}} - INTERVAL 90 DAY) AS orders_180d_to_90d,
  count_if(ordered_at > {{as_of}} - INTERVAL 180 DAY) AS orders_180d,
  count_if(ordered_at > {{as_of}} - INTERVAL 365 DAY) AS orders_365d,
  count(*) AS orders_total,
  sum(amount) FILTER (WHERE ordered_at > {{as_of}} - INTERVAL 365 DAY) AS revenue_365d,
  sum(amount) AS lifetime_revenue,
  min(ordered_at) AS first_order_at,
  max(ordered_at) AS last_order_at,
  -- the most frequent category, ties to the smallest; the first channel, ties to the smallest
  (list_sort(list_transform(map_entries(histogram(category)), e -> {'n': -e.value, 'v': e.key}))[1]).v AS top_category,
  (min({'t': ordered_at, 'v': channel}) FILTER (WHERE channel IS NOT NULL)).v AS first_channel
FROM main.orders
WHERE ordered_at <= {{as_of}}
GROUP BY customer_id;

CREATE OR REPLACE TEMP TABLE floor_product_events AS
SELECT
  customer_id,
  count_if(event_type = 'add_to_cart' AND ts > {{as_of}} - INTERVAL 3 DAY) AS carts_3d,
  count_if(event_type = 'page_view' AND ts > {{as_of}} - INTERVAL 14 DAY) AS views_14d,
  count_if(event_type = 'page_view' AND ts > {{as_of}} - INTERVAL 30 DAY) AS views_30d,
  count_if(event_type = 'page_view' AND starts_with(path, '/pricing') AND ts > {{as_of}} - INTERVAL 7 DAY) AS pricing_views_7d,
  count_if(event_type = 'page_view' AND starts_with(path, '/pricing') AND ts > {{as_of}} - INTERVAL 30 DAY) AS pricing_views_30d,
  count_if(event_type = 'page_view' AND starts_with(path, '/docs') AND ts > {{as_of}} - INTERVAL 30 DAY) AS docs_views_30d,
  count_if(event_type = 'page_view' AND path = '/blog' AND ts > {{as_of}} - INTERVAL 60 DAY) AS blog_views_60d,
  -- weeks (counted back from as_of) with a page view in the last 28 days: a bit per week
  coalesce(bit_count(bit_or(CAST(1 AS BIGINT) << CAST(floor(epoch({{as_of}} - ts) / 604800) AS INTEGER)) FILTER (WHERE event_type = 'page_view' AND ts > {{as_of}} - INTERVAL 28 DAY)), 0) AS active_weeks_28d,
  count_if(event_type = 'trial_started' AND ts > {{as_of}} - INTERVAL 14 DAY) AS trials_14d,
  count_if(event_type = 'feature_used' AND ts > {{as_of}} - INTERVAL 7 DAY) AS features_7d,
  count_if(event_type = 'feature_used') AS features_ever
FROM main.events
WHERE ts <= {{as_of}}
  AND (event_type = 'feature_used' OR (event_type IN ('page_view', 'add_to_cart', 'trial_started') AND ts > {{as_of}} - INTERVAL 60 DAY))
GROUP BY customer_id;

CREATE OR REPLACE TEMP TABLE floor_logins AS
SELECT account_id, count(*) AS logins_30d
FROM main.events
WHERE event_type = 'login' AND ts <= {{as_of}} AND ts > {{as_of}} - INTERVAL 30 DAY
GROUP BY account_id;

SELECT count(*) AS n
FROM main.customers AS c
LEFT JOIN floor_orders AS o ON o.customer_id = c.customer_id
LEFT JOIN floor_product_events AS e ON e.customer_id = c.customer_id;

SELECT count(*) AS n
FROM main.accounts AS a
LEFT JOIN floor_logins AS l ON l.account_id = a.account_id;
