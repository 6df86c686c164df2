"""Citizens: registration, sign-in, second factor, recovery, sessions and the cabinet."""
