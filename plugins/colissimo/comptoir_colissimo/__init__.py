"""Colissimo: SLS labels and returns, La Poste tracking, contract rate grid."""
