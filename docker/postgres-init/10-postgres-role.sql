-- Run once, when the container initialises an empty data volume (postgres:16 and the stand-in
-- alike). The service's own role is POSTGRES_USER (events_user, …); the handout also opens
-- psql as `-U postgres`, a role the image creates only when POSTGRES_USER is postgres. It has
-- no password: only `docker exec … psql` (the local socket) can use it.
SELECT 'CREATE ROLE postgres SUPERUSER LOGIN'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'postgres')
\gexec
