-- Run once by the postgres image on its first start (an empty data volume), as
-- POSTGRES_USER. Each app keeps its own database; they share no tables.
-- Later changes to this file do not touch an existing volume.
CREATE DATABASE portal;
CREATE DATABASE diary;
-- The simulator (stand-in registries, dev inboxes) is its own app with its own storage.
CREATE DATABASE simulator;
