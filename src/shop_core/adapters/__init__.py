"""Technology plugged into the ports. Only `shop_core.bootstrap` imports these."""
