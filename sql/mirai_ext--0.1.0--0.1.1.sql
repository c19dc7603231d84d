-- mirai_ext 0.1.0 -> 0.1.1: the security release.
--
-- An installation updated with ALTER EXTENSION mirai_ext UPDATE has exactly
-- the objects, grants and guarantees of a fresh 0.1.1 (test/t/090_release.t).
\echo Use "ALTER EXTENSION mirai_ext UPDATE TO '0.1.1'" to load this file. \quit

-- ---------------------------------------------------------------------
-- Rollups and tracking
-- ---------------------------------------------------------------------

-- ---------------------------------------------------------------------
-- The mirai_load ledger
-- ---------------------------------------------------------------------
