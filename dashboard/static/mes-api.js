/* MesApi client: see CONTRACT §6 (issue 7). */
