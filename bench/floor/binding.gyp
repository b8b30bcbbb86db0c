{
  "targets": [
    {
      "target_name": "floor",
      "sources": ["floor.c"],
      "defines": ["NAPI_VERSION=7"]
    }
  ]
}
