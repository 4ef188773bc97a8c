-- Facts about this installation, such as its id (which tells its ConnectWise records from
-- those of another cwbridge connected to the same ConnectWise).
CREATE TABLE installation (
    key    TEXT NOT NULL PRIMARY KEY,
    value  TEXT NOT NULL
);
