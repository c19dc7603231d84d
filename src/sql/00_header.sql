-- mirai_ext install script.  Built from src/sql/*.sql by the Makefile.
\echo Use "CREATE EXTENSION mirai_ext" to load this file. \quit
