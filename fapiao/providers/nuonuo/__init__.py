"""诺诺 (Nuonuo open platform, 诺税通 SaaS 数电): see docs/providers/nuonuo.md."""
